package io.isthmus.trust.tls;

import java.util.Set;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Which verified SPIFFE IDs a TLS connection accepts as its peer (authentication scope, not authorization).
 * Pure and thread-safe.
 */
@FunctionalInterface
public interface PeerPolicy {
    /** @return null when {@code id} is acceptable, otherwise what was expected instead */
    String check(SpiffeId id);

    /** Any ID that verified under the federation. */
    static PeerPolicy anyFederated() {
        return id -> null;
    }

    static PeerPolicy memberOf(TrustDomain td) {
        return id -> id.memberOf(td) ? null : "a member of trust domain " + td;
    }

    static PeerPolicy memberOfAny(Set<TrustDomain> tds) {
        Set<TrustDomain> copy = Set.copyOf(tds);
        return id -> copy.contains(id.trustDomain()) ? null : "a member of one of " + copy;
    }

    static PeerPolicy exactly(SpiffeId expected) {
        return id -> id.equals(expected) ? null : expected.toString();
    }
}
