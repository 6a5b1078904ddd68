package io.isthmus.gateway.membership;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import io.isthmus.proxy.authz.vouch.GatewayIdentities;
import io.isthmus.registry.xsite.PeerSite;
import io.isthmus.trust.federation.PeerConfig;
import io.isthmus.trust.membership.HostPort;
import io.isthmus.trust.membership.Member;
import io.isthmus.trust.membership.MembershipChange;
import io.isthmus.trust.membership.Membership;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * What a membership document means for each part of this gateway: the peers whose bundles it syncs, the registry's
 * peer sites, the clusters the egress routes to, and who may vouch at the ingress. Pure.
 */
public final class MembershipView {
    private MembershipView() {
    }

    /** Every other member's bundle endpoint (none when this cluster is not a member). */
    public static List<PeerConfig> trustPeers(Membership m, String self) {
        return MembershipChange.peersOf(m, self).stream()
                .map(p -> new PeerConfig(p.name(), p.trustDomain(), p.bundleEndpoint(), Optional.empty())).toList();
    }

    /** Every other member that has a registry bridge, by site name. */
    public static Map<String, PeerSite> sites(Membership m, String self) {
        Map<String, PeerSite> out = new LinkedHashMap<>();
        for (Member p : MembershipChange.peersOf(m, self)) {
            if (p.bridgeAddresses().isEmpty()) {
                continue;
            }
            List<InetSocketAddress> addresses = new ArrayList<>();
            for (HostPort h : p.bridgeAddresses()) {
                addresses.add(new InetSocketAddress(h.unresolved().getHostString(), h.port()));
            }
            out.put(p.name(), new PeerSite(p.name(), addresses, p.trustDomain()));
        }
        return out;
    }

    /** This cluster and every other member, with their trust domains: the clusters whose exports are routed to. */
    public static Map<String, TrustDomain> clusters(Membership m, String self, TrustDomain selfTrustDomain) {
        Map<String, TrustDomain> out = new LinkedHashMap<>();
        out.put(self, selfTrustDomain);
        MembershipChange.peersOf(m, self).forEach(p -> out.put(p.name(), p.trustDomain()));
        return out;
    }

    /** Who may vouch at the ingress: this gateway's own identity and each other member's gateway identities. */
    public static GatewayIdentities gateways(Membership m, String self, SpiffeId selfId) {
        Map<TrustDomain, Set<SpiffeId>> ids = new LinkedHashMap<>();
        ids.put(selfId.trustDomain(), new HashSet<>(Set.of(selfId)));
        MembershipChange.peersOf(m, self).forEach(p -> ids.computeIfAbsent(p.trustDomain(), td -> new HashSet<>())
                .addAll(p.gatewayIds()));
        return new GatewayIdentities(ids);
    }
}
