package io.isthmus.integration.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The packaged programs the end-to-end tests run as processes: the gateway (Quarkus app) and the VM agent (shaded
 * jar). A test must run the code of this checkout, so a jar that is missing or older than a source or class file
 * of a module inside it fails the test, naming both files, instead of skipping the test or testing an old build
 * (as {@code ./mvnw test} without the package phase, or {@code -pl integration} without {@code -am}, would).
 */
public final class PackagedJars {
    private static final String REBUILD = "package it again: ./mvnw -pl integration -am verify, or"
            + " ./mvnw -pl federation-gateway,vm-agent -am package -DskipTests before ./mvnw -pl integration verify";

    private PackagedJars() {
    }

    /** The gateway application, built from these modules (its lib/ holds their jars). */
    public static Path gateway() {
        return fresh("federation-gateway/target/quarkus-app/quarkus-run.jar",
                List.of("trust-sync", "service-registry", "east-west-proxy", "federation-gateway"));
    }

    /** The VM agent's shaded jar, built from these modules. */
    public static Path agent() {
        return fresh("vm-agent/target/isthmus-agent.jar", List.of("trust-sync", "east-west-proxy", "vm-agent"));
    }

    static Path fresh(String jarPath, List<String> modules) {
        Path root = Repo.root();
        Path jar = root.resolve(jarPath);
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jarPath + " is missing: the end-to-end tests run the packaged program; "
                    + REBUILD);
        }
        FileTime built = modified(jar);
        for (String module : modules) {
            for (String dir : List.of("src/main", "target/classes")) {
                Optional<Path> newer = newestFile(root.resolve(module).resolve(dir))
                        .filter(f -> modified(f).compareTo(built) > 0);
                if (newer.isPresent()) {
                    throw new IllegalStateException(jarPath + " (built " + built + ") is older than "
                            + root.relativize(newer.get()) + " (modified " + modified(newer.get())
                            + "): the test would run an old build; " + REBUILD);
                }
            }
        }
        return jar;
    }

    private static Optional<Path> newestFile(Path dir) {
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).max((a, b) -> modified(a).compareTo(modified(b)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    private static FileTime modified(Path file) {
        try {
            return Files.getLastModifiedTime(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the modification time of " + file, e);
        }
    }
}
