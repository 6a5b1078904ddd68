package io.isthmus.registry.signing;

import java.util.Objects;
import java.util.Set;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * What a site knows, from its configuration or the federation membership, about the cluster that owns a key: its
 * trust domain (whose bundle must vouch for the signer) and its gateways' SPIFFE IDs (the only identities that sign
 * its entries; a workload of the same trust domain does not).
 */
public record OwnerTrust(String cluster, TrustDomain trustDomain, Set<SpiffeId> gateways) {
    public OwnerTrust {
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(trustDomain, "trustDomain");
        gateways = Set.copyOf(gateways);
        if (gateways.isEmpty()) {
            throw new IllegalArgumentException("cluster " + cluster + " lists no gateway identity: nobody could sign"
                    + " its registry entries");
        }
        for (SpiffeId id : gateways) {
            if (!id.memberOf(trustDomain)) {
                throw new IllegalArgumentException("gateway identity " + id + " of cluster " + cluster
                        + " is not in its trust domain " + trustDomain);
            }
        }
    }
}
