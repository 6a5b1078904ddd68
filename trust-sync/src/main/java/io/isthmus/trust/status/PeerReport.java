package io.isthmus.trust.status;

import java.util.Objects;

import io.isthmus.trust.spiffe.TrustDomain;

/** What one peer answered when asked for its {@link TrustStatus}: the status, authenticated by its SVID, or why not. */
public sealed interface PeerReport {
    String peer();

    TrustDomain trustDomain();

    /** The peer's status; its bundle endpoint's SVID verified against the peer's current bundle. */
    record Reported(String peer, TrustDomain trustDomain, TrustStatus status) implements PeerReport {
        public Reported {
            Objects.requireNonNull(status, "status");
            if (!status.trustDomain().equals(trustDomain)) {
                throw new IllegalArgumentException("peer " + peer + " of " + trustDomain + " reported the status of "
                        + status.trustDomain());
            }
        }
    }

    /** No usable answer (unreachable, not authenticated, malformed): the peer counts as not holding anything. */
    record Unavailable(String peer, TrustDomain trustDomain, String reason) implements PeerReport {
    }
}
