package io.isthmus.gateway.registry;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.event.Reception;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;

import org.infinispan.Cache;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.configuration.global.GlobalConfigurationBuilder;
import org.infinispan.manager.DefaultCacheManager;
import org.infinispan.manager.EmbeddedCacheManager;
import org.jboss.logging.Logger;

import io.isthmus.gateway.config.ClusterName;
import io.isthmus.gateway.config.ConfigException;
import io.isthmus.gateway.membership.MembershipView;
import io.isthmus.trust.membership.MembershipChange;
import io.isthmus.trust.membership.SignedMembership;
import io.isthmus.gateway.agent.VmServiceRegistry;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.enrolment.EnrolmentCluster;
import io.isthmus.gateway.enrolment.EnrolmentConfig;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.registry.ClusterIdentity;
import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.LeaseKeeper;
import io.isthmus.registry.Locality;
import io.isthmus.registry.PortProtocols;
import io.isthmus.registry.Registry;
import io.isthmus.registry.RegistryResolver;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServiceResolver;
import io.isthmus.proxy.authz.vouch.GatewayIdentities;
import io.isthmus.registry.signing.SvidEntryTrust;
import io.isthmus.registry.store.InfinispanRegistry;
import io.isthmus.registry.xsite.AdvertisedBridge;
import io.isthmus.registry.xsite.ChannelFactory;
import io.isthmus.registry.xsite.PeerSite;
import io.isthmus.registry.xsite.RegistryNode;
import io.isthmus.registry.xsite.SiteSettings;
import io.isthmus.trust.runtime.TrustSnapshot;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.quarkus.runtime.Startup;

/**
 * Starts and owns this gateway's embedded Infinispan and the registry on it, after the trust plane (the bridge
 * presents the gateway SVID and verifies peers with the trust plane's verifier). Produces the
 * {@link EmbeddedCacheManager} (other features define their own caches on it; see
 * {@link RegistryNode#replicatedAcrossSites()}), the {@link Registry} and the {@link ServiceResolver}.
 * Static exports from configuration are written at start and kept alive by the lease keeper.
 */
@ApplicationScoped
@Startup
public class RegistryService {
    private static final Logger LOG = Logger.getLogger(RegistryService.class);

    private final RegistryConfig config;
    private final Optional<RegistryNode> node;
    private final EmbeddedCacheManager cacheManager;
    private final InfinispanRegistry registry;
    private final LeaseKeeper leases;
    /** The CA that signed this gateway's SVID, as last seen ({@link InfinispanRegistry#issuerKey}). */
    private final AtomicReference<String> signingCa = new AtomicReference<>();
    private final RegistryResolver resolver;
    private final String site;
    private final TrustDomain trustDomain;
    private final SpiffeId selfId;
    /** Gateway identities from configuration, used while no membership document is in force. */
    private final GatewayIdentities staticGateways;
    /** Signs this cluster's records and judges every received one against the owners' bundles. */
    private final SvidEntryTrust entryTrust;
    /** Re-judges held records after a trust change, off the thread that announced it. */
    private final java.util.concurrent.ExecutorService revocations = java.util.concurrent.Executors
            .newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "isthmus-registry-revocation");
                t.setDaemon(true);
                return t;
            });
    private volatile TrustSnapshot lastTrust;
    /** Who may be a bridge peer: the gateway identities of this cluster and of each peer (which sign its entries). */
    private volatile GatewayIdentities bridgeGateways;

    @Inject
    public RegistryService(RegistryConfig config, GatewayConfig gateway, EnrolmentConfig enrolment, TrustService trust,
            Clock clock) {
        this.config = config;
        this.site = ClusterName.of(gateway, config);
        this.trustDomain = trust.runtime().trustDomain();
        ClusterIdentity identity = identity(config, site);
        Map<String, TrustDomain> clusters = new HashMap<>();
        clusters.put(site, trust.runtime().trustDomain());
        Optional<SignedMembership> held = trust.membership().current();
        this.selfId = trust.runtime().settings().gatewayId();
        this.staticGateways = staticGateways(gateway, selfId);
        this.entryTrust = new SvidEntryTrust(trust.runtime(), trust.runtime().verifier(), clock, Map.of());
        held.ifPresent(h -> clusters.putAll(MembershipView.clusters(h.membership(), site, trustDomain)));
        GatewayIdentities signers = held.map(h -> MembershipView.gateways(h.membership(), site, selfId))
                .orElse(staticGateways);
        this.bridgeGateways = signers;
        if (config.enabled()) {
            SiteSettings settings = siteSettings(config, site, trust.runtime().trustDomain());
            if (held.isPresent()) {
                if (!config.peers().isEmpty()) {
                    LOG.infof("membership version %d is in force: the %d static isthmus.registry.peers.* entries are"
                            + " not used", held.get().version(), config.peers().size());
                }
                settings = settings.withPeers(MembershipView.sites(held.get().membership(), site));
            }
            settings.peers().forEach((name, peer) -> clusters.put(name, peer.trustDomain()));
            this.lastTrust = trust.runtime().snapshot();
            // Known before the first replicated record can arrive (the node starts receiving at once).
            entryTrust.owners(EntryOwners.of(clusters, signers));
            RegistryNode n = RegistryNode.start(settings, trust.runtime(), trust.runtime().verifier(),
                    id -> bridgeGateways.isGateway(id), timing(config), manager -> ClusterCaches.define(manager,
                            EnrolmentCluster.storeDir(enrolment, gateway), VmServiceRegistry.storeDir(gateway)));
            this.node = Optional.of(n);
            this.cacheManager = n.cacheManager();
            this.registry = new InfinispanRegistry(n.registryCache(), identity, clock, entryTrust);
            LOG.infof("registry: site %s, bridge on %s:%d%s, peers %s, replicas by %s", site, settings.bindHost(),
                    settings.bridgePort(), settings.advertisedBridge().map(a -> " advertised as " + a).orElse(""),
                    settings.peers().keySet(), settings.localDnsQuery().map(q -> "DNS " + q)
                            .orElse("static list " + settings.localMembers()));
        } else {
            GlobalConfigurationBuilder global = new GlobalConfigurationBuilder().nonClusteredDefault();
            global.jmx().disable();
            DefaultCacheManager local = new DefaultCacheManager(global.build());
            local.defineConfiguration(RegistryNode.REGISTRY_CACHE, new ConfigurationBuilder().build());
            Cache<String, String> cache = local.getCache(RegistryNode.REGISTRY_CACHE);
            entryTrust.owners(EntryOwners.of(clusters, signers));
            this.node = Optional.empty();
            this.cacheManager = local;
            this.registry = new InfinispanRegistry(cache, identity, clock, entryTrust);
            LOG.warnf("registry: replication disabled (isthmus.registry.enabled=false); exports stay in this process");
        }
        this.resolver = new RegistryResolver(registry, clock, clusters);
        this.leases = new LeaseKeeper(registry, clock);
        exportStatic(config);
        leases.start(config.heartbeatInterval());
        trust.membership().addListener(this::applyMembership);
    }

    /**
     * The registry side of a membership change, after the trust side (the new members' bundles are in force, the
     * removed ones' are gone and their bridge connections are being closed): the egress routes to the new set of
     * clusters at once; the bridge takes the new peer sites (their trust, site binding, discovery); the registry
     * cache moves to the new backup sites (see {@link InfinispanRegistry#restartCache}); a removed cluster's entries
     * are purged here.
     */
    private void applyMembership(MembershipChange change) {
        Map<String, TrustDomain> clusters = MembershipView.clusters(change.next().membership(), site, trustDomain);
        GatewayIdentities gateways = MembershipView.gateways(change.next().membership(), site, selfId);
        // Before the bridge takes the new peer sites below: a new peer's gateways are admitted as soon as it is known.
        bridgeGateways = gateways;
        entryTrust.owners(EntryOwners.of(clusters, gateways));
        resolver.clusters(clusters);
        purgeRevokedSoon("membership version " + change.next().version());
        if (node.isEmpty()) {
            return;
        }
        RegistryNode n = node.get();
        Set<String> before = Set.copyOf(n.settings().peers().keySet());
        Map<String, PeerSite> sites = MembershipView.sites(change.next().membership(), site);
        long started = System.nanoTime();
        if (n.reconfigure(sites)) {
            registry.restartCache(n::restartRegistryCache);
        }
        for (String gone : before) {
            if (!sites.containsKey(gone)) {
                int purged = registry.purge(gone);
                LOG.infof("registry: site %s left the federation (membership version %d); %d of its entries purged",
                        gone, change.next().version(), purged);
            }
        }
        LOG.infof("registry: membership version %d applied in %d ms: peer sites %s", change.next().version(),
                (System.nanoTime() - started) / 1_000_000, sites.keySet());
    }

    /** The registry's timings from configuration; a bad value fails start-up naming its key. */
    static ChannelFactory.Timing timing(RegistryConfig config) {
        ChannelFactory.Timing d = ChannelFactory.Timing.DEFAULT;
        RegistryConfig.FailureDetection fd = config.failureDetection();
        try {
            return new ChannelFactory.Timing(fd.timeout().toMillis(), fd.interval().toMillis(),
                    config.localJoinTimeout().toMillis(), config.bridgeJoinTimeout().toMillis(), d.mergeMinMillis(),
                    d.mergeMaxMillis(), fd.verifyTimeout().toMillis(), config.backupTimeout().toMillis());
        } catch (ChannelFactory.InvalidTiming e) {
            throw new ConfigException("isthmus.registry." + e.key(), e.getMessage());
        }
    }

    static ClusterIdentity identity(RegistryConfig config, String site) {
        IngressAddress ingress;
        try {
            ingress = config.ingressAddress().map(a -> {
                InetSocketAddress s = hostPort(a, "isthmus.registry.ingress-address");
                return new IngressAddress(s.getHostString(), s.getPort());
            }).orElseGet(() -> new IngressAddress(config.bindHost(), 15443));
            return new ClusterIdentity(site, ingress, new Locality(config.locality().region().orElse(""),
                    config.locality().zone().orElse("")), config.leaseTtl(), config.meshSuffix());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("isthmus.registry", e.getMessage());
        }
    }

    static SiteSettings siteSettings(RegistryConfig config, String site, TrustDomain trustDomain) {
        Map<String, PeerSite> peers = new LinkedHashMap<>();
        config.peers().forEach((name, p) -> {
            String key = "isthmus.registry.peers." + name;
            List<InetSocketAddress> addresses = new ArrayList<>();
            for (String a : p.bridgeAddresses()) {
                addresses.add(hostPort(a, key + ".bridge-addresses"));
            }
            try {
                peers.put(name, new PeerSite(name, addresses, TrustDomain.parse(p.trustDomain())));
            } catch (RuntimeException e) {
                throw new ConfigException(key, e.getMessage());
            }
        });
        List<InetSocketAddress> members = new ArrayList<>();
        for (String m : config.localMembers().orElse(List.of())) {
            members.add(hostPort(m, "isthmus.registry.local-members"));
        }
        Optional<AdvertisedBridge> advertised = advertisedBridge(config);
        Optional<String> dnsQuery = config.localDnsQuery().map(String::strip);
        if (dnsQuery.isPresent()) {
            if (!members.isEmpty()) {
                throw new ConfigException("isthmus.registry.local-dns-query", "set together with"
                        + " isthmus.registry.local-members; the replicas are discovered either by DNS or from a static"
                        + " list: set only one of the two keys");
            }
            if (config.localPort() == 0) {
                throw new ConfigException("isthmus.registry.local-port", "is 0 while isthmus.registry.local-dns-query"
                        + " is set; DNS discovery dials every replica at the same local port: set a fixed port");
            }
            try {
                return new SiteSettings(site, trustDomain, config.bindHost(), config.localPort(), members,
                        config.xsitePort(), peers, dnsQuery, advertised);
            } catch (IllegalArgumentException e) {
                throw new ConfigException("isthmus.registry.local-dns-query", e.getMessage());
            }
        }
        try {
            return new SiteSettings(site, trustDomain, config.bindHost(), config.localPort(), members, config.xsitePort(),
                    peers, Optional.empty(), advertised);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("isthmus.registry", e.getMessage());
        }
    }

    private static Optional<AdvertisedBridge> advertisedBridge(RegistryConfig config) {
        String key = "isthmus.registry.advertised-bridge-address";
        return config.advertisedBridgeAddress().map(String::strip).map(text -> {
            InetSocketAddress at = hostPort(text, key);
            int master = config.xsiteMasterPort();
            if (master == config.xsitePort() || master == config.localPort() || config.xsitePort() == 0) {
                throw new ConfigException("isthmus.registry.xsite-master-port", "is " + master + "; with " + key + " set,"
                        + " every replica relays isthmus.registry.xsite-port (" + config.xsitePort() + ", must not be 0) to"
                        + " the site master's bridge on this port, so it must differ from it and from"
                        + " isthmus.registry.local-port (" + config.localPort() + ")");
            }
            try {
                return new AdvertisedBridge(at.getHostString(), at.getPort(), config.xsiteMasterPort());
            } catch (IllegalArgumentException e) {
                throw new ConfigException(key, e.getMessage());
            }
        });
    }

    static InetSocketAddress hostPort(String text, String key) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0) {
            throw new ConfigException(key, "'" + text + "' is not host:port");
        }
        try {
            int port = Integer.parseInt(text.substring(colon + 1));
            if (port < 1 || port > 65535) {
                throw new NumberFormatException();
            }
            return new InetSocketAddress(text.substring(0, colon), port);
        } catch (NumberFormatException e) {
            throw new ConfigException(key, "'" + text + "' has no port in 1-65535 after the ':'");
        }
    }

    private void exportStatic(RegistryConfig config) {
        config.staticExports().forEach((name, e) -> {
            String key = "isthmus.registry.static-exports." + name;
            try {
                registry.export(new ExportSpec(new ServiceKey(site, e.namespace(), name),
                        e.ports().stream().map(PortProtocols::parse).toList(),
                        e.identities().orElse(List.of()).stream().map(SpiffeId::parse).toList(), e.readyEndpoints()));
            } catch (RuntimeException ex) {
                throw new ConfigException(key, ex.getMessage());
            }
        });
    }

    public String site() {
        return site;
    }

    /**
     * The registry site of the trust peer named {@code peer} ({@code isthmus.peers.<peer>}): the peer site of the same
     * name, else the one configured with its trust domain; empty when no peer site is either.
     */
    public Optional<String> siteOf(String peer, TrustDomain trustDomain) {
        if (config.peers().containsKey(peer)) {
            return Optional.of(peer);
        }
        return config.peers().entrySet().stream().filter(e -> e.getValue().trustDomain().equals(trustDomain.name()))
                .map(Map.Entry::getKey).findFirst();
    }

    public RegistryConfig config() {
        return config;
    }

    /** The replicating node; empty when replication is disabled. */
    public Optional<RegistryNode> node() {
        return node;
    }

    public InfinispanRegistry registry() {
        return registry;
    }

    public LeaseKeeper leases() {
        return leases;
    }

    @Produces
    @ApplicationScoped
    EmbeddedCacheManager cacheManager() {
        return cacheManager;
    }

    @Produces
    @ApplicationScoped
    Registry registryBean() {
        return registry;
    }

    @Produces
    @ApplicationScoped
    ServiceResolver resolver() {
        return resolver;
    }

    /**
     * After the bundles or roots changed (fired on the thread that swapped the snapshot), re-verify the peers of the
     * registry's open bridge and replica connections, so that a CA removed from a bundle also ends connections made
     * before its removal. Returns at once: the sweep runs on the node's own thread.
     */
    void trustChanged(@Observes(notifyObserver = Reception.IF_EXISTS) TrustSnapshot snapshot) {
        // A rotation activated another CA and this gateway's SVID was reissued under it: sign the own entries again
        // now (the heartbeat round does it), long before the old CA can leave the bundle and take them with it.
        String signerCa = InfinispanRegistry.issuerKey(snapshot.svid().leaf());
        String before = signingCa.getAndSet(signerCa);
        if (before != null && !before.equals(signerCa)) {
            leases.tickSoon();
        }
        if (node.isEmpty() || snapshot.sameTrustAs(lastTrust)) {
            return;
        }
        lastTrust = snapshot;
        purgeRevokedSoon("bundle sequence change");
        node.get().revalidatePeers().whenComplete((closed, failure) -> {
            if (failure != null) {
                LOG.warnf("registry: re-checking bridge peers after a bundle change failed: %s", failure.getMessage());
            } else if (!closed.isEmpty()) {
                LOG.infof("registry: %d connection(s) closed after a bundle change", closed.size());
            }
        });
    }

    /**
     * Purges at once, here, the entries whose signer the trust in force no longer vouches for (a cluster's CA left
     * its bundle, a cluster left the membership): they stop being routed to now, not when their leases lapse.
     */
    private void purgeRevokedSoon(String why) {
        try {
            revocations.execute(() -> {
                try {
                    Map<String, Integer> purged = registry.purgeRevoked();
                    if (!purged.isEmpty()) {
                        LOG.infof("registry: after a %s, purged the entries of revoked signers: %s", why, purged);
                    }
                    registry.admitNowTrusted();
                } catch (RuntimeException e) {
                    LOG.warnf("registry: re-checking entries after a %s failed (%s); they are checked again at the"
                            + " next trust change", why, e.getMessage());
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            // stopping: nothing left to route
        }
    }

    /**
     * Who signs each cluster's entries while no membership is in force: this gateway's own identity and each static
     * peer's {@code isthmus.peers.<name>.gateway-ids} (by default its conventional gateway identity) — the same
     * identities that may vouch at the ingress.
     */
    static GatewayIdentities staticGateways(GatewayConfig config, SpiffeId self) {
        Map<TrustDomain, Set<SpiffeId>> ids = new LinkedHashMap<>();
        ids.put(self.trustDomain(), new java.util.HashSet<>(Set.of(self)));
        config.peers().forEach((name, peer) -> {
            String key = "isthmus.peers." + name + ".gateway-ids";
            try {
                TrustDomain td = TrustDomain.parse(peer.trustDomain());
                for (String id : peer.gatewayIds().orElse(List.of(GatewayIdentities.conventional(td).toString()))) {
                    ids.computeIfAbsent(td, t -> new java.util.HashSet<>()).add(SpiffeId.parse(id.trim()));
                }
            } catch (IllegalArgumentException e) {
                throw new ConfigException(key, e.getMessage());
            }
        });
        try {
            return new GatewayIdentities(ids);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("isthmus.peers", e.getMessage());
        }
    }

    @PreDestroy
    void stop() {
        revocations.shutdownNow();
        leases.close();
        registry.close();
        if (node.isPresent()) {
            node.get().close();
        } else {
            cacheManager.stop();
        }
    }
}
