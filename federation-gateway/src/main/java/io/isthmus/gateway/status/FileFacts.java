package io.isthmus.gateway.status;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;

/** Reads a {@link FileView} of a file the gateway is configured with, as its own process sees it. */
final class FileFacts {
    private FileFacts() {
    }

    static FileView of(String key, Path path, boolean secret) {
        boolean exists = Files.exists(path);
        Optional<String> permissions = Optional.empty();
        Optional<String> owner = Optional.empty();
        Optional<String> group = Optional.empty();
        if (exists) {
            try {
                PosixFileAttributes a = Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                permissions = Optional.of(PosixFilePermissions.toString(a.permissions()));
                owner = Optional.of(a.owner().getName());
                group = Optional.of(a.group().getName());
            } catch (IOException | UnsupportedOperationException e) {
                // No POSIX attributes here (or not readable): the checker then says it cannot judge them.
            }
        }
        return new FileView(key, path.toAbsolutePath().toString(), secret, exists, exists && Files.isReadable(path),
                permissions, owner, group);
    }
}
