package io.isthmus.trust.federation;

import java.time.Duration;

/**
 * How peers are polled. The interval is the peer bundle's refresh hint, clamped to
 * [{@code minRefresh}, {@code maxRefresh}], or {@code defaultRefresh} when the peer gives none (the SPIFFE spec
 * suggests five minutes). Failed polls retry with exponential backoff from {@code initialBackoff}, never waiting
 * longer than the refresh interval. A peer is stale when its last good bundle is older than {@code staleFactor}
 * refresh intervals.
 */
public record SyncSettings(Duration defaultRefresh, Duration minRefresh, Duration maxRefresh, Duration initialBackoff,
        Duration fetchTimeout, int staleFactor) {

    public SyncSettings {
        if (minRefresh.compareTo(maxRefresh) > 0) {
            throw new IllegalArgumentException("min refresh " + minRefresh + " exceeds max refresh " + maxRefresh);
        }
        if (staleFactor < 1) {
            throw new IllegalArgumentException("stale factor must be at least 1");
        }
    }

    public static SyncSettings defaults() {
        return new SyncSettings(Duration.ofMinutes(5), Duration.ofSeconds(1), Duration.ofHours(1), Duration.ofSeconds(1),
                Duration.ofSeconds(10), 3);
    }

    Duration interval(java.util.Optional<Duration> hint) {
        Duration d = hint.orElse(defaultRefresh);
        if (d.compareTo(minRefresh) < 0) {
            return minRefresh;
        }
        return d.compareTo(maxRefresh) > 0 ? maxRefresh : d;
    }
}
