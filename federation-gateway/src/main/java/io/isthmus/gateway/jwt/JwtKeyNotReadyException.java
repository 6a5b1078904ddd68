package io.isthmus.gateway.jwt;

import java.time.Duration;
import java.time.Instant;

import io.isthmus.trust.jwt.JwtKeyReadiness;

/** This replica's signing key may not be known to every federated peer yet; retry after {@link #retryAfter()}. */
public final class JwtKeyNotReadyException extends RuntimeException {
    private final Duration retryAfter;

    JwtKeyNotReadyException(JwtKeyReadiness.Verdict.NotYet notYet, Instant now) {
        super(notYet.describe());
        Duration left = Duration.between(now, notYet.readyBy());
        // Confirmations usually arrive within a second or two of a change; never ask for more than what is left.
        this.retryAfter = left.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1)
                : left.compareTo(Duration.ofSeconds(2)) > 0 ? Duration.ofSeconds(2) : left;
    }

    public Duration retryAfter() {
        return retryAfter;
    }
}
