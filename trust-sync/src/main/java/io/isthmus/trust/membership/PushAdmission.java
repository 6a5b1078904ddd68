package io.isthmus.trust.membership;

import java.time.Duration;

/**
 * Whether a membership push ({@code POST} {@link MembershipGossip#PATH}) from a source address is verified now. The
 * endpoint is reachable by anyone who can reach the bundle endpoint, and each push costs a parse and a signature
 * check (and, for a newer document, probes): the gateway limits pushes per source. Asked on the bundle endpoint's
 * thread before the body is parsed; must not block; thread-safe.
 */
@FunctionalInterface
public interface PushAdmission {
    /** Admits every push (tests, and a component without a gateway around it). */
    PushAdmission UNLIMITED = source -> new Admitted();

    Verdict admit(String sourceAddress);

    sealed interface Verdict {
    }

    record Admitted() implements Verdict {
    }

    /** Over the limit: answered 429 with {@code Retry-After}, the body neither parsed nor verified. */
    record Limited(Duration retryAfter, String detail) implements Verdict {
    }
}
