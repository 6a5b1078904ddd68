package io.isthmus.gateway.status;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * The state of one peer's bundle sync.
 *
 * @param lastRejection the {@code BundleRejection} label of the last refused poll ({@code wrong-trust-domain},
 *                      {@code fetch-failed}, ...) when the last poll was refused
 * @param intervalSeconds how often the peer is polled; the bundle is stale after a few intervals without success
 */
public record SyncView(Optional<Long> sequence, Optional<Instant> lastSuccess, Optional<Instant> lastAttempt,
        Optional<String> lastError, Optional<String> lastRejection, long intervalSeconds, boolean loadedFromDisk,
        boolean stale) {
    public SyncView {
        Objects.requireNonNull(sequence, "sequence");
        Objects.requireNonNull(lastSuccess, "lastSuccess");
        Objects.requireNonNull(lastAttempt, "lastAttempt");
        Objects.requireNonNull(lastError, "lastError");
        Objects.requireNonNull(lastRejection, "lastRejection");
    }
}
