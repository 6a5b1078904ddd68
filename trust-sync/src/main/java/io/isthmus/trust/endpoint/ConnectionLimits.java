package io.isthmus.trust.endpoint;

import java.time.Duration;
import java.util.Objects;

/**
 * How many TLS connections the bundle endpoint holds open at once: from one client address ({@code perClient}) and in
 * all ({@code total}). A connection over either is closed at once, before any TLS work. Refusals are logged at most
 * once per client address per {@code warnInterval}.
 */
public record ConnectionLimits(int perClient, int total, Duration warnInterval) {
    /** 16 per client (a gateway needs 1-2 at a time), 1,024 in all (well under a default 65,536 file limit). */
    public static final ConnectionLimits DEFAULTS = new ConnectionLimits(16, 1024, Duration.ofMinutes(1));

    public ConnectionLimits {
        if (perClient < 1) {
            throw new IllegalArgumentException("isthmus.bundle-endpoint.max-connections-per-client is " + perClient
                    + ", expected 1 or more");
        }
        if (total < perClient) {
            throw new IllegalArgumentException("isthmus.bundle-endpoint.max-connections is " + total + ", expected at "
                    + "least max-connections-per-client (" + perClient + ")");
        }
        Objects.requireNonNull(warnInterval, "warnInterval");
        if (warnInterval.isNegative() || warnInterval.isZero()) {
            throw new IllegalArgumentException("the interval between refusal warnings is " + warnInterval
                    + ", expected a positive duration");
        }
    }
}
