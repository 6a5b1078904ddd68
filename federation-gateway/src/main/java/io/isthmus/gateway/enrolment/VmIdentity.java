package io.isthmus.gateway.enrolment;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

import io.isthmus.trust.spiffe.SpiffeId;

/** A VM identity known to the cluster: when it enrolled, and whether (when, why) it was revoked. */
public record VmIdentity(SpiffeId id, State state, Optional<Instant> enrolledAt, Optional<Instant> revokedAt,
        Optional<String> revokeReason) {

    public enum State { ACTIVE, REVOKED }

    public VmIdentity {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(enrolledAt, "enrolledAt");
        Objects.requireNonNull(revokedAt, "revokedAt");
        Objects.requireNonNull(revokeReason, "revokeReason");
        if (state == State.REVOKED && revokedAt.isEmpty()) {
            throw new IllegalArgumentException("revoked identity " + id + " needs a revocation time");
        }
    }

    public boolean revoked() {
        return state == State.REVOKED;
    }
}
