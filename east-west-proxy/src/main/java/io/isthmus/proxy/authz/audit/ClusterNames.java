package io.isthmus.proxy.authz.audit;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Which cluster a trust domain is, for the decision log's {@code source_cluster} and {@code destination_cluster}
 * (one trust domain per cluster). Called on the event loop: must not block. Thread-safe.
 */
@FunctionalInterface
public interface ClusterNames {
    /** The cluster name of {@code trustDomain}; empty when it is not a known member. */
    Optional<String> of(TrustDomain trustDomain);

    ClusterNames NONE = td -> Optional.empty();

    /** A fixed table, e.g. from {@code isthmus.cluster-name} and {@code isthmus.peers.<name>.trust-domain}. */
    static ClusterNames of(Map<TrustDomain, String> byTrustDomain) {
        Map<TrustDomain, String> copy = Map.copyOf(Objects.requireNonNull(byTrustDomain, "byTrustDomain"));
        return td -> Optional.ofNullable(copy.get(td));
    }
}
