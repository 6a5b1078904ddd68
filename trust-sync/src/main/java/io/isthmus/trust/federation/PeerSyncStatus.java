package io.isthmus.trust.federation;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import io.isthmus.trust.spiffe.TrustDomain;

/**
 * What this gateway knows of one peer's bundle: the sequence in force, when it last fetched one successfully
 * (or loaded it from disk), and the last failure. {@code stale} comes with the reason in {@link #describe}.
 */
public record PeerSyncStatus(String peer, TrustDomain trustDomain, Optional<Long> sequence,
        Optional<Instant> lastSuccess, Optional<Instant> lastAttempt, Optional<String> lastError,
        Optional<BundleRejection> lastRejection, Duration interval, boolean loadedFromDisk, boolean stale) {

    /** One line for health checks and logs. */
    public String describe(Instant now) {
        StringBuilder sb = new StringBuilder();
        if (sequence.isEmpty()) {
            sb.append("no bundle yet");
        } else {
            sb.append("sequence ").append(sequence.get());
            lastSuccess.ifPresent(t -> sb.append(loadedFromDisk ? ", loaded from disk " : ", fetched ")
                    .append(Duration.between(t, now).toSeconds()).append("s ago"));
        }
        if (stale) {
            sb.append("; STALE (older than ").append(interval.toSeconds()).append("s refresh interval allows)");
        }
        lastError.ifPresent(e -> sb.append("; last error: ").append(e));
        return sb.toString();
    }
}
