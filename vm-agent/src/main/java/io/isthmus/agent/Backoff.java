package io.isthmus.agent;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * Retry delays: {@code initial × 2^attempt}, capped at {@code max}, then scaled by a jitter factor in [0.5, 1) so
 * that VMs that lost the gateway together do not come back together. Pure given the random source.
 */
public record Backoff(Duration initial, Duration max, DoubleSupplier random) {
    public Backoff {
        if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("backoff needs 0 < initial <= max, got " + initial + ", " + max);
        }
    }

    /** The delay before retry number {@code attempt} (0 for the first retry). */
    public Duration delay(int attempt) {
        long cap = max.toMillis();
        long base = initial.toMillis() << Math.min(attempt, 30);
        long capped = base <= 0 || base > cap ? cap : base;
        double jitter = 0.5 + 0.5 * random.getAsDouble();
        return Duration.ofMillis(Math.max(1, (long) (capped * jitter)));
    }
}
