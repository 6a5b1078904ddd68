package io.isthmus.trust.reload;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * The files a gateway's trust material comes from, watched for changes: the federation root(s), and this cluster's
 * intermediate key and chain. In Kubernetes they are a mounted Secret, whose update swaps a {@code ..data} symlink;
 * elsewhere a file replaced atomically (rename). Either way the change is seen by content, at most
 * {@code pollInterval} later.
 */
public record CaFiles(Path roots, Path intermediateKey, Path intermediateChain, Duration pollInterval) {
    public CaFiles {
        Objects.requireNonNull(roots, "roots");
        Objects.requireNonNull(intermediateKey, "intermediateKey");
        Objects.requireNonNull(intermediateChain, "intermediateChain");
        if (pollInterval.isNegative() || pollInterval.isZero()) {
            throw new IllegalArgumentException("the CA file poll interval must be positive: " + pollInterval);
        }
    }
}
