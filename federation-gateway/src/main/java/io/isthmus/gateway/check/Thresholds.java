package io.isthmus.gateway.check;

import java.time.Duration;
import java.util.Objects;

/**
 * Where {@code isthmus check} draws its lines.
 *
 * @param caExpiry       a root, intermediate or peer CA with less time left than this fails (rotation takes a few
 *                       refresh intervals to reach every peer; leave days, not hours)
 * @param svidRemaining  the gateway SVID fails below this fraction of its lifetime left: it renews at half life, so
 *                       less than a quarter means renewal has been failing for a while
 * @param maxClockOffset a peer clock further off than this (beyond the reading's uncertainty) fails: certificates
 *                       tolerate {@code isthmus.ca.clock-skew} (30 s) but registry leases go stale sooner, and synced
 *                       clocks are milliseconds apart
 */
public record Thresholds(Duration caExpiry, double svidRemaining, Duration maxClockOffset) {
    public static final Thresholds DEFAULT = new Thresholds(Duration.ofDays(7), 0.25, Duration.ofSeconds(5));

    public Thresholds {
        Objects.requireNonNull(caExpiry, "caExpiry");
        Objects.requireNonNull(maxClockOffset, "maxClockOffset");
        if (caExpiry.isNegative() || maxClockOffset.isNegative()) {
            throw new IllegalArgumentException("thresholds must not be negative: " + caExpiry + ", " + maxClockOffset);
        }
        if (svidRemaining < 0 || svidRemaining > 1) {
            throw new IllegalArgumentException("svidRemaining is a fraction in [0, 1], got " + svidRemaining);
        }
    }
}
