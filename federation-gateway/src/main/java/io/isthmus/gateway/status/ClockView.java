package io.isthmus.gateway.status;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * How far a peer's clock is from this gateway's, read from the time its bundle endpoint states in each answer
 * ({@code Isthmus-Time}) against the midpoint of the request here (Cristian's method).
 *
 * @param offsetMillis      the peer's clock minus this gateway's; positive when the peer is ahead
 * @param uncertaintyMillis half the round trip: the true offset lies within {@code offsetMillis} plus or minus this
 * @param error             why the clock could not be read (the endpoint unreachable, or not stating its time)
 */
public record ClockView(Optional<Long> offsetMillis, long uncertaintyMillis, Optional<String> error, Instant at) {
    public ClockView {
        Objects.requireNonNull(offsetMillis, "offsetMillis");
        Objects.requireNonNull(error, "error");
        Objects.requireNonNull(at, "at");
    }
}
