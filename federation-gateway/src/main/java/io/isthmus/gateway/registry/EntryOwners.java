package io.isthmus.gateway.registry;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import io.isthmus.proxy.authz.vouch.GatewayIdentities;
import io.isthmus.registry.signing.OwnerTrust;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Who may sign each cluster's registry entries: the gateways of its trust domain, the same identities that may vouch
 * for callers at the ingress (from the membership, or the static peer configuration). Pure.
 */
final class EntryOwners {
    private EntryOwners() {
    }

    static Map<String, OwnerTrust> of(Map<String, TrustDomain> clusters, GatewayIdentities gateways) {
        Map<String, OwnerTrust> out = new LinkedHashMap<>();
        clusters.forEach((cluster, td) -> {
            Set<SpiffeId> ids = gateways.of(td);
            out.put(cluster, new OwnerTrust(cluster, td, ids.isEmpty() ? Set.of(GatewayIdentities.conventional(td)) : ids));
        });
        return out;
    }
}
