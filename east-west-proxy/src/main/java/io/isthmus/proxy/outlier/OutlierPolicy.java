package io.isthmus.proxy.outlier;

import java.time.Duration;
import java.util.Objects;

/**
 * When a peer cluster is ejected from routing: after {@code consecutiveFailures} failed connects in a row it is
 * skipped for {@code baseEjection}; every further ejection without a success in between doubles that, up to
 * {@code maxEjection}.
 */
public record OutlierPolicy(int consecutiveFailures, Duration baseEjection, Duration maxEjection) {
    public OutlierPolicy {
        if (consecutiveFailures < 1) {
            throw new IllegalArgumentException("consecutiveFailures must be at least 1, was " + consecutiveFailures);
        }
        Objects.requireNonNull(baseEjection, "baseEjection");
        Objects.requireNonNull(maxEjection, "maxEjection");
        if (baseEjection.isNegative() || baseEjection.isZero()) {
            throw new IllegalArgumentException("baseEjection must be positive, was " + baseEjection);
        }
        if (maxEjection.compareTo(baseEjection) < 0) {
            throw new IllegalArgumentException("maxEjection " + maxEjection + " is shorter than baseEjection "
                    + baseEjection);
        }
    }

    /** 3 failed connects in a row; 10 s, doubling up to 2 min. */
    public static OutlierPolicy defaults() {
        return new OutlierPolicy(3, Duration.ofSeconds(10), Duration.ofMinutes(2));
    }

    /** How long the {@code nth} ejection in a row lasts (n from 1). */
    public Duration ejection(int nth) {
        Duration d = baseEjection;
        for (int i = 1; i < nth && d.compareTo(maxEjection) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(maxEjection) > 0 ? maxEjection : d;
    }
}
