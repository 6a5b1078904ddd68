package io.isthmus.registry.xsite;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

import io.isthmus.trust.spiffe.TrustDomain;

/**
 * How this gateway joins the registry's replication: the local Infinispan cluster of its replicas
 * ({@code localPort}, and either {@code localMembers} or {@code localDnsQuery}) and the cross-site bridge
 * ({@code bridgePort}, {@code peers}).
 *
 * @param site this cluster's site name (by default the cluster name); sites replicate to every peer
 * @param trustDomain this cluster's trust domain; this gateway's own SVID must belong to it
 * @param bindHost the address both the local and the bridge transport bind to
 * @param localPort TCP port of the local cluster transport (0 picks a free one, for tests)
 * @param localMembers the local cluster's replicas (host:port of their local transports), for discovery;
 *                     may be empty for a single replica
 * @param bridgePort TCP port of the TLS cross-site bridge (default 7900; 0 picks a free one, for a site without peers)
 * @param peers the other sites by name
 * @param localDnsQuery a DNS name whose A records are the addresses of this site's replicas (in Kubernetes the
 *                      headless Service of the gateway's pods), for discovery with JGroups {@code DNS_PING}
 *                      instead of the static {@code localMembers}: every replica is dialled at {@code localPort},
 *                      so all replicas must use the same, non-zero, local port. Exclusive with {@code localMembers}.
 * @param advertisedBridge where peers reach this site's bridge when that is not {@code bindHost:bridgePort} (a load
 *                         balancer in front of the replicas): every replica then relays {@code bridgePort} to the
 *                         site master's bridge on {@link AdvertisedBridge#masterPort()}; empty: the site master's
 *                         bridge listens on {@code bridgePort} itself and advertises {@code bindHost}
 */
public record SiteSettings(String site, TrustDomain trustDomain, String bindHost, int localPort,
        List<InetSocketAddress> localMembers, int bridgePort, Map<String, PeerSite> peers,
        Optional<String> localDnsQuery, Optional<AdvertisedBridge> advertisedBridge) {
    private static final Pattern SITE = Pattern.compile("[A-Za-z0-9][-A-Za-z0-9_.]{0,62}");
    /** A DNS name: dot-separated labels of letters, digits and inner hyphens, optionally fully qualified. */
    private static final Pattern DNS_NAME = Pattern.compile(
            "(?=.{1,253}\\.?$)[A-Za-z0-9](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*\\.?");

    public SiteSettings {
        requireSiteName(site);
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(bindHost, "bindHost");
        localMembers = List.copyOf(localMembers);
        peers = Map.copyOf(peers);
        Objects.requireNonNull(localDnsQuery, "localDnsQuery");
        if (localPort < 0 || localPort > 65535) {
            throw new IllegalArgumentException("local cluster port " + localPort + " is outside 0-65535");
        }
        if (localDnsQuery.isPresent()) {
            String query = localDnsQuery.get();
            if (!DNS_NAME.matcher(query).matches()) {
                throw new IllegalArgumentException("local DNS query '" + query + "' is not a DNS name");
            }
            if (!localMembers.isEmpty()) {
                throw new IllegalArgumentException("the local cluster is discovered either by DNS ('" + query
                        + "') or from a static member list (" + localMembers + "), not both");
            }
            if (localPort == 0) {
                throw new IllegalArgumentException("DNS discovery of the local cluster ('" + query + "') dials every"
                        + " replica at this node's own local port, so the local port cannot be 0");
            }
        }
        if (bridgePort < 0 || bridgePort > 65535) {
            throw new IllegalArgumentException("bridge port " + bridgePort + " is outside 0-65535");
        }
        if (peers.containsKey(site)) {
            throw new IllegalArgumentException("site '" + site + "' lists itself as a peer; peers are the other sites");
        }
        peers.forEach((name, peer) -> {
            if (!name.equals(peer.site())) {
                throw new IllegalArgumentException("peer entry '" + name + "' describes site '" + peer.site() + "'");
            }
        });
        Objects.requireNonNull(advertisedBridge, "advertisedBridge");
        if (advertisedBridge.isPresent()) {
            int master = advertisedBridge.get().masterPort();
            if (bridgePort == 0) {
                throw new IllegalArgumentException("with an advertised bridge (" + advertisedBridge.get() + ") every"
                        + " replica relays a fixed bridge port that the load balancer targets, so the bridge port cannot be 0");
            }
            if (master == bridgePort || master == localPort) {
                throw new IllegalArgumentException("the site master's bridge port " + master + " must differ from the"
                        + " relayed bridge port " + bridgePort + " and the local cluster port " + localPort);
            }
        }
    }

    /** Settings without an advertised bridge: the site master's bridge listens on {@code bindHost:bridgePort}. */
    public SiteSettings(String site, TrustDomain trustDomain, String bindHost, int localPort,
            List<InetSocketAddress> localMembers, int bridgePort, Map<String, PeerSite> peers,
            Optional<String> localDnsQuery) {
        this(site, trustDomain, bindHost, localPort, localMembers, bridgePort, peers, localDnsQuery, Optional.empty());
    }

    /** Settings whose local cluster is discovered from the static {@code localMembers} (no DNS query). */
    public SiteSettings(String site, TrustDomain trustDomain, String bindHost, int localPort,
            List<InetSocketAddress> localMembers, int bridgePort, Map<String, PeerSite> peers) {
        this(site, trustDomain, bindHost, localPort, localMembers, bridgePort, peers, Optional.empty(), Optional.empty());
    }

    /** The same settings with another set of peer sites (a membership change). */
    public SiteSettings withPeers(Map<String, PeerSite> nextPeers) {
        return new SiteSettings(site, trustDomain, bindHost, localPort, localMembers, bridgePort, nextPeers, localDnsQuery,
                advertisedBridge);
    }

    static String requireSiteName(String site) {
        if (site == null || !SITE.matcher(site).matches()) {
            throw new IllegalArgumentException("site name '" + site + "' must be 1-63 letters, digits, '-', '_' or '.'"
                    + ", starting with a letter or digit");
        }
        return site;
    }
}
