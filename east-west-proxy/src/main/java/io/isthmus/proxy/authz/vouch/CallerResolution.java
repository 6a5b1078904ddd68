package io.isthmus.proxy.authz.vouch;

import java.util.Objects;
import java.util.Optional;

import io.isthmus.proxy.authz.DenyReason;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Who the caller of a request at the ingress is, as {@link VouchingDecision} decided it from the mTLS peer and the
 * vouching header: a caller a gateway vouched for, the peer itself, or a refusal made before any policy runs.
 */
public sealed interface CallerResolution {

    /** A gateway of {@code caller}'s trust domain vouched for it over mTLS. */
    record Vouched(SpiffeId caller, SpiffeId gateway) implements CallerResolution {
        public Vouched {
            Objects.requireNonNull(caller, "caller");
            Objects.requireNonNull(gateway, "gateway");
            if (!caller.trustDomain().equals(gateway.trustDomain())) {
                throw new IllegalArgumentException(gateway + " cannot vouch for " + caller + " of another trust domain");
            }
        }
    }

    /** A peer that is not a gateway (a VM, a workload with its own SVID) called itself: it is the caller. */
    record Direct(SpiffeId caller) implements CallerResolution {
        public Direct {
            Objects.requireNonNull(caller, "caller");
        }
    }

    /**
     * Refused before any policy: {@code reason} is one of the vouching reasons of {@link DenyReason};
     * {@code auditedCaller} is the identity the audit line names (the asserted caller when it is a SPIFFE ID, else
     * the peer); {@code detail} quotes what was asserted and says what is expected.
     */
    record Refused(DenyReason reason, SpiffeId peer, SpiffeId auditedCaller, String detail) implements CallerResolution {
        public Refused {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(peer, "peer");
            Objects.requireNonNull(auditedCaller, "auditedCaller");
            Objects.requireNonNull(detail, "detail");
        }
    }

    /** The gateway that vouched, when one did: the audit log names it. */
    default Optional<SpiffeId> vouchingGateway() {
        return this instanceof Vouched v ? Optional.of(v.gateway()) : Optional.empty();
    }
}
