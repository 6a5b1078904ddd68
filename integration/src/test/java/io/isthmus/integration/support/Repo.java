package io.isthmus.integration.support;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the repository root from a module's working directory, so tests can use repo files and scripts. */
public final class Repo {
    private Repo() {
    }

    public static Path root() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null) {
            if (Files.exists(dir.resolve("mvnw")) && Files.isDirectory(dir.resolve("terraform"))) {
                return dir;
            }
            dir = dir.getParent();
        }
        throw new IllegalStateException("cannot find the repository root above " + Path.of("").toAbsolutePath());
    }
}
