package io.isthmus.proxy.authz.vouch;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Which SPIFFE IDs are gateways, per federated trust domain: the only peers whose vouching for a caller the ingress
 * accepts. Known from configuration (each peer's {@code gateway-ids}, this cluster's own identity), never from the
 * traffic itself. A trust domain that is not listed has no gateway: nobody of it may vouch. Immutable.
 *
 * @param byTrustDomain the gateway IDs of each trust domain; every ID must belong to the trust domain it is filed
 *     under (a cluster cannot name another trust domain's identity as its gateway), and none may be empty
 */
public record GatewayIdentities(Map<TrustDomain, Set<SpiffeId>> byTrustDomain) {
    /** The namespace and service account a gateway runs as unless its operator chose others. */
    public static final String CONVENTIONAL_NAMESPACE = "isthmus-system";
    public static final String CONVENTIONAL_SERVICE_ACCOUNT = "isthmus-gateway";

    public GatewayIdentities {
        Objects.requireNonNull(byTrustDomain, "byTrustDomain");
        Map<TrustDomain, Set<SpiffeId>> copy = new LinkedHashMap<>();
        byTrustDomain.forEach((td, ids) -> {
            if (ids.isEmpty()) {
                throw new IllegalArgumentException("trust domain " + td + " lists no gateway identity; list at least"
                        + " one, e.g. " + conventional(td));
            }
            for (SpiffeId id : ids) {
                if (!id.memberOf(td)) {
                    throw new IllegalArgumentException("gateway identity " + id + " is listed for trust domain " + td
                            + " but belongs to " + id.trustDomain() + ": a cluster's gateways are of its own trust"
                            + " domain");
                }
            }
            copy.put(td, Set.copyOf(ids));
        });
        byTrustDomain = Map.copyOf(copy);
    }

    /** {@code spiffe://<td>/ns/isthmus-system/sa/isthmus-gateway}: the gateway identity of a default deployment. */
    public static SpiffeId conventional(TrustDomain td) {
        return SpiffeId.ofServiceAccount(td, CONVENTIONAL_NAMESPACE, CONVENTIONAL_SERVICE_ACCOUNT);
    }

    /** Each of {@code trustDomains} with its conventional gateway identity only. */
    public static GatewayIdentities conventional(Iterable<TrustDomain> trustDomains) {
        Map<TrustDomain, Set<SpiffeId>> map = new LinkedHashMap<>();
        for (TrustDomain td : trustDomains) {
            map.put(td, Set.of(conventional(td)));
        }
        return new GatewayIdentities(map);
    }

    /** Whether {@code peer} is one of the gateway identities of its own trust domain. */
    public boolean isGateway(SpiffeId peer) {
        Set<SpiffeId> ids = byTrustDomain.get(peer.trustDomain());
        return ids != null && ids.contains(peer);
    }

    /** The gateway identities of {@code td}; empty when it has none (it is not federated with this cluster). */
    public Set<SpiffeId> of(TrustDomain td) {
        return byTrustDomain.getOrDefault(td, Set.of());
    }
}
