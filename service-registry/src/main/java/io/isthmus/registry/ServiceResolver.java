package io.isthmus.registry;

import java.util.List;
import java.util.Optional;

import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Resolves a mesh name to the clusters that can serve it, for the east-west egress. Called per request (or per
 * connection): must be fast, non-blocking and thread-safe, and must reflect the registry as it is now.
 */
public interface ServiceResolver {

    /**
     * The exports of {@code name} that may be routed to now (lease held, ready endpoints), nearest first as
     * {@link LocalityOrder} ranks them from {@code from}. Empty when no cluster can serve it.
     */
    List<ExportedService> resolve(MeshName name, Locality from);

    /**
     * The trust domain whose gateway must answer at the ingress address of {@code cluster}'s exports: the egress
     * refuses a peer ingress presenting an SVID of any other trust domain (a registry entry or an address that points
     * elsewhere cannot divert traffic to another cluster's gateway). Empty: any federated gateway is accepted, for
     * resolvers that know no trust domains (static routes).
     */
    default Optional<TrustDomain> trustDomainOf(String cluster) {
        return Optional.empty();
    }
}
