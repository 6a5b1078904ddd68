package io.isthmus.gateway.status;

import java.util.Objects;
import java.util.Optional;

/**
 * A file the gateway reads, as the gateway's own process sees it.
 *
 * @param key         the configuration key naming it, e.g. {@code isthmus.ca.intermediate-key}
 * @param secret      whether it holds a secret (a private key, a token): then no other user may read it
 * @param permissions POSIX permissions as {@code ls} prints them ({@code rw-r-----}), empty when it does not exist
 *                    or the file system has none
 */
public record FileView(String key, String path, boolean secret, boolean exists, boolean readable,
        Optional<String> permissions, Optional<String> owner, Optional<String> group) {
    public FileView {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(permissions, "permissions");
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(group, "group");
    }
}
