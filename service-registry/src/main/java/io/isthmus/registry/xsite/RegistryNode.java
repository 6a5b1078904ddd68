package io.isthmus.registry.xsite;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Predicate;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

import org.infinispan.Cache;
import org.infinispan.configuration.ConfigurationManager;
import org.infinispan.configuration.cache.BackupConfiguration;
import org.infinispan.configuration.cache.CacheMode;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.configuration.cache.XSiteStateTransferMode;
import org.infinispan.configuration.global.GlobalConfigurationBuilder;
import org.infinispan.configuration.global.ShutdownHookBehavior;
import org.infinispan.factories.GlobalComponentRegistry;
import org.infinispan.manager.DefaultCacheManager;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.remoting.transport.Transport;
import org.infinispan.remoting.transport.jgroups.JGroupsTransport;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.tls.SpiffeTrustManager;
import io.isthmus.trust.tls.SvidKeyManager;
import io.isthmus.trust.tls.SvidSource;

/**
 * One gateway's embedded Infinispan: a cache manager whose transport is the local cluster channel with RELAY2
 * and a TLS bridge to the peer sites (see {@link ChannelFactory}). Owns the cache manager; {@link #close()} stops
 * it. Other features define their own caches on {@link #cacheManager()}, using {@link #replicatedAcrossSites()}
 * when they want them replicated to every site.
 */
public final class RegistryNode implements AutoCloseable {
    /** Name of the registry cache. */
    public static final String REGISTRY_CACHE = "isthmus-registry";

    /** The settings in force; the peer sites change with the federation's membership ({@link #reconfigure}). */
    private final AtomicReference<SiteSettings> live;
    /** What does not change while the node runs: its site, trust domain, addresses and ports. */
    private final SiteSettings settings;
    private final BridgeTrustManager bridgeTrust;
    private final DefaultCacheManager cacheManager;
    private final ChannelFactory channels;
    private final PeerRevalidation bridgeRevalidation;
    private final PeerRevalidation localRevalidation;
    /** Relays bridge connections to the site master when the site has an advertised bridge address. */
    private final Optional<BridgeRelay> relay;
    /** One thread, so sweeps never overlap and the caller (the bundle-sync thread) never waits for sockets. */
    private final ExecutorService revalidator;
    private final IracPacing iracPacing;
    private final ScheduledExecutorService delayer;
    private final long backupTimeoutMillis;
    /** Registry cache updates refused from peer sites (see {@link OwnerOnlyReceiver}), across cache restarts. */
    private final AtomicLong refusedCrossSiteWrites;

    private RegistryNode(AtomicReference<SiteSettings> live, BridgeTrustManager bridgeTrust, X509SvidVerifier verifier,
            SpiffeId replicaId, DefaultCacheManager cacheManager, ChannelFactory channels, Optional<BridgeRelay> relay,
            ScheduledExecutorService delayer, IracPacing iracPacing, long backupTimeoutMillis,
            AtomicLong refusedCrossSiteWrites) {
        this.live = live;
        this.refusedCrossSiteWrites = refusedCrossSiteWrites;
        this.backupTimeoutMillis = backupTimeoutMillis;
        this.settings = live.get();
        this.delayer = delayer;
        this.iracPacing = iracPacing;
        this.relay = relay;
        this.bridgeTrust = bridgeTrust;
        this.cacheManager = cacheManager;
        this.channels = channels;
        this.bridgeRevalidation = new PeerRevalidation(settings.site(), "bridge", bridgeTrust::recheck);
        this.localRevalidation = new PeerRevalidation(settings.site(), "local cluster", (chain, remote, dialed) ->
                ReplicaAdmission.judge(replicaId,
                        verifier.verifyEstablished(chain == null ? null : java.util.Arrays.asList(chain))));
        this.revalidator = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon()
                .name("registry-revalidation-" + settings.site()).factory());
    }

    /** The bridge's transports on this node (tests reach the bridge's protocol stack through them). */
    Set<TlsTcp> bridgeTransportsForTest() {
        return channels.bridgeTransports();
    }

    /** As {@link #start(SiteSettings, SvidSource, X509SvidVerifier, Predicate, ChannelFactory.Timing, Consumer)}. */
    public static RegistryNode start(SiteSettings settings, SvidSource svids, X509SvidVerifier verifier,
            Predicate<SpiffeId> gateways, ChannelFactory.Timing timing) {
        return start(settings, svids, verifier, gateways, timing, manager -> { });
    }

    /**
     * Starts the cache manager (joins the local cluster; the bridge forms in the background on the site master)
     * and the registry cache.
     *
     * @param svids this gateway's SVID, presented on the bridge; its trust domain must be {@code settings.trustDomain()}
     * @param verifier verifies bridge peers' SVIDs against the federation root and current bundles
     * @param gateways whether a verified SPIFFE ID is a gateway identity of its trust domain (ours or a peer's): only
     *                 those may be bridge peers ({@link BridgeTrustManager}); read at every handshake and re-check
     * @param defineCaches defines (never starts) every other cache the replicas share, before this node joins its
     *                     cluster. Infinispan's coordinator picks a cache's partition handling and merge policy from
     *                     its own definition of the cache when another replica first starts it, and keeps that choice:
     *                     a cache it had not defined yet gets neither, for good (a coordinator whose join-token cache
     *                     never degraded, so its cut-off grace never started; no conflict resolution at the merge).
     */
    public static RegistryNode start(SiteSettings settings, SvidSource svids, X509SvidVerifier verifier,
            Predicate<SpiffeId> gateways, ChannelFactory.Timing timing, Consumer<EmbeddedCacheManager> defineCaches) {
        AtomicReference<SiteSettings> live = new AtomicReference<>(settings);
        BridgeTrustManager trust = new BridgeTrustManager(live::get, verifier, gateways);
        SSLContext tls = tlsContext(svids, trust, "cross-site bridge");
        // Every replica of a cluster runs as the same gateway identity; no one else may be a replica.
        SpiffeId replicaId = svids.current().id();
        SpiffeTrustManager localTrust = new SpiffeTrustManager(verifier, ReplicaAdmission.policy(replicaId));
        SSLContext localTls = tlsContext(svids, localTrust, "local cluster");
        ChannelFactory channels = new ChannelFactory(live::get, tls, localTls, timing);
        GlobalConfigurationBuilder global = new GlobalConfigurationBuilder();
        global.transport().defaultTransport().clusterName("isthmus-" + settings.site())
                .nodeName(settings.site() + "-" + settings.bindHost() + "-" + settings.localPort())
                .addProperty(JGroupsTransport.CHANNEL_CONFIGURATOR,
                        new ProgrammaticChannelConfigurator(channels, "isthmus-" + settings.site()));
        global.jmx().disable();
        global.cacheContainer().statistics(false);
        // Stopped by close(), in its order (discovery and joins given up first, see ChannelFactory.close), and by its
        // owner's lifecycle. Infinispan's own JVM shutdown hook would stop the cache manager at the same time as the
        // owner's shutdown, while the owner's beans still use it.
        global.shutdown().hookBehavior(ShutdownHookBehavior.DONT_REGISTER);
        DefaultCacheManager cm = new DefaultCacheManager(global.build(), false);
        Optional<BridgeRelay> relay = Optional.empty();
        ScheduledExecutorService delayer = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("registry-irac-backoff-" + settings.site()).factory());
        IracPacing pacing = new IracPacing(delayer);
        AtomicLong refusedWrites = new AtomicLong();
        try {
            if (settings.advertisedBridge().isPresent()) {
                // Before the channel starts, so a peer that dials as soon as we become site master finds the relay.
                relay = Optional.of(BridgeRelay.start(settings.site(),
                        new InetSocketAddress(settings.bindHost(), settings.bridgePort()), channels::siteMasterBridge));
            }
            CrossSiteScope.install(cm, settings.site(), refusedWrites);
            cm.defineConfiguration(REGISTRY_CACHE, replicatedAcrossSites(settings, timing.backupTimeoutMillis()).build());
            defineCaches.accept(cm);
            cm.start();
            cm.addListener(pacing.sitesUp());
            pacing.install(cm.getCache(REGISTRY_CACHE));
            channels.cachesRunning();
        } catch (IOException | RuntimeException e) {
            delayer.shutdownNow();
            channels.close();
            relay.ifPresent(BridgeRelay::close);
            cm.stop();
            throw new IllegalStateException("cannot start the registry of site " + settings.site() + " (local port "
                    + settings.localPort() + ", bridge port " + settings.bridgePort() + "): " + e.getMessage(), e);
        }
        return new RegistryNode(live, trust, verifier, replicaId, cm, channels, relay, delayer, pacing,
                timing.backupTimeoutMillis(), refusedWrites);
    }

    /** Presents our SVID; checks peers with {@code trust} on a full handshake every time (no session resumption). */
    private static SSLContext tlsContext(SvidSource svids, javax.net.ssl.X509ExtendedTrustManager trust, String what) {
        try {
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(new KeyManager[] {new SvidKeyManager(svids)}, new TrustManager[] {new FullHandshakeTrustManager(trust)},
                    null);
            return tls;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot create the TLS context of the " + what, e);
        }
    }

    /**
     * A configuration for a cache replicated synchronously among this site's replicas and asynchronously to
     * every peer site, with automatic cross-site state transfer: a site that comes back receives the whole
     * state from the others, so nothing changed while it was away is lost.
     *
     * @param backupTimeoutMillis how long an update waits for a backup site's answer before it is retried
     */
    static ConfigurationBuilder replicatedAcrossSites(SiteSettings settings, long backupTimeoutMillis) {
        ConfigurationBuilder c = new ConfigurationBuilder();
        c.clustering().cacheMode(CacheMode.REPL_SYNC);
        for (String peer : settings.peers().keySet()) {
            // IRAC keeps a key's update pending until every backup site answered or timed out, so a dead site that
            // the bridge has not yet removed (failure detection: 20 s) holds back that key's next update to the live
            // sites for the whole timeout: at the default 15 s, heartbeats reached the live sites too late and their
            // leases lapsed (FailoverSoakE2ETest). A short timeout bounds that delay; a timed-out update is retried.
            c.sites().addBackup().site(peer).strategy(BackupConfiguration.BackupStrategy.ASYNC)
                    .replicationTimeout(backupTimeoutMillis)
                    .stateTransfer().mode(XSiteStateTransferMode.AUTO).chunkSize(512);
        }
        return c;
    }

    public ConfigurationBuilder replicatedAcrossSites() {
        return replicatedAcrossSites(live.get(), backupTimeoutMillis);
    }

    /**
     * Puts a new set of peer sites in force (a membership change), without restarting the node: from now on the
     * bridge authenticates and binds sites by the new set, and its discovery asks the new bridge addresses. Returns
     * whether the set of site names changed, in which case the caller must move the registry cache to the new backup
     * sites ({@link #restartRegistryCache}): Infinispan fixes a cache's backup sites when the cache starts.
     */
    public synchronized boolean reconfigure(Map<String, PeerSite> peers) {
        SiteSettings before = live.get();
        SiteSettings next = before.withPeers(peers);
        live.set(next);
        channels.peersChanged();
        // Each member applies the change on its own clock: ask a few times, so that the last to apply is seen soon.
        for (long at : new long[] {500, 3_000, 8_000}) {
            channels.hurryBridgeMerge(CompletableFuture.delayedExecutor(at, TimeUnit.MILLISECONDS, revalidator),
                    CompletableFuture.delayedExecutor(at + 1_000, TimeUnit.MILLISECONDS, revalidator));
        }
        return !before.peers().keySet().equals(next.peers().keySet());
    }

    /**
     * Stops {@code running} (the registry cache) on this node only and starts it again with the backup sites of the
     * settings in force. The other replicas of this site keep theirs until they apply the change themselves; the
     * cache manager, its transport and the bridge stay up, so the other sites and caches notice nothing. What the
     * cache held is the caller's to put back (see {@code InfinispanRegistry.restartCache}).
     *
     * <p>The configuration is replaced in place rather than undefined and defined again: a cross-site request that
     * finds no configuration of its cache answers "cache not found", and the sending site then takes this site offline
     * for good (Infinispan's {@code XSiteCacheRequest}), whereas one that finds the cache stopped or starting answers
     * "not started", which the sender retries.
     */
    public synchronized Cache<String, String> restartRegistryCache(Cache<String, String> running) {
        GlobalComponentRegistry global = GlobalComponentRegistry.of(cacheManager);
        cacheManager.stopCache(REGISTRY_CACHE);
        global.getComponent(ConfigurationManager.class).putConfiguration(REGISTRY_CACHE,
                replicatedAcrossSites(live.get(), backupTimeoutMillis));
        // Forget the stopped instance, so that the next getCache starts one with the configuration now in force.
        global.removeCache(REGISTRY_CACHE);
        Cache<String, String> next = cacheManager.getCache(REGISTRY_CACHE);
        iracPacing.install(next);
        return next;
    }

    public EmbeddedCacheManager cacheManager() {
        return cacheManager;
    }

    public Cache<String, String> registryCache() {
        return cacheManager.getCache(REGISTRY_CACHE);
    }

    /** The settings in force (the peer sites change with the membership). */
    public SiteSettings settings() {
        return live.get();
    }

    /** Sites this node currently sees over the bridge, its own included; empty when cross-site is not up. */
    public Set<String> sitesView() {
        Transport t = org.infinispan.factories.GlobalComponentRegistry.componentOf(cacheManager, Transport.class);
        Set<String> view = t == null ? null : t.getSitesView();
        return view == null ? Set.of() : Set.copyOf(view);
    }

    /** TLS handshakes the bridge refused (certificate or site binding). */
    public long refusedBridgeHandshakes() {
        return bridgeTrust.refusedHandshakes();
    }

    /**
     * Registry cache updates a peer site sent that no genuine site sends, refused on arrival: a cross-site version that
     * names another writer, or does not count the key owner's writes ({@link OwnerWrites}). A third site's keys, which
     * peers also push when this site joins, are dropped without being counted.
     */
    public long refusedCrossSiteWrites() {
        return refusedCrossSiteWrites.get();
    }

    /** Bridge messages dropped because the site they claimed is not the one their TLS connection proved. */
    public long droppedBridgeMessages() {
        return channels.droppedBridgeMessages();
    }

    /** The sockets of this node's open bridge connections, dialed and accepted (to check their options in tests). */
    List<javax.net.ssl.SSLSocket> bridgeSockets() {
        return channels.bridgeTransports().stream().flatMap(t -> t.openConnections().stream())
                .flatMap(c -> TlsTcp.tlsSocketOf(c).stream()).toList();
    }

    /** Bridge connections this replica relayed to its site master (0 without an advertised bridge). */
    public long relayedBridgeConnections() {
        return relay.map(BridgeRelay::relayed).orElse(0L);
    }

    /** Bridge connections this replica closed because no site master was known or reachable. */
    public long refusedBridgeRelays() {
        return relay.map(BridgeRelay::refused).orElse(0L);
    }

    /** Bridge connections closed because their peer no longer verified after the bundles changed. */
    public long revokedBridgeConnections() {
        return bridgeRevalidation.revoked();
    }

    /** Local-cluster (replica) connections closed because their peer no longer verified. */
    public long revokedLocalConnections() {
        return localRevalidation.revoked();
    }

    /**
     * Re-verifies the peer of every open bridge and local-cluster connection against the current bundles (with the
     * handshake's rules, including the site/trust-domain binding of the bridge) and closes those that fail, each
     * logged with its peer, SPIFFE ID and reason, and counted. Call it after the bundles changed: a trust manager
     * only runs at the handshake, so without this a revoked site's open bridge keeps replicating.
     *
     * <p>Returns at once; the sweep runs on this node's revalidation thread (never a JGroups thread). A closed
     * peer's reconnects fail at the handshake ({@link BridgeTrustManager}), paced by JGroups' own sends and
     * discovery. The future completes with the connections closed; it fails only if the node is closed.
     */
    public CompletableFuture<List<RevokedConnection>> revalidatePeers() {
        try {
            return CompletableFuture.supplyAsync(() -> {
                List<RevokedConnection> closed = new ArrayList<>(bridgeRevalidation.sweep(channels.bridgeTransports()));
                closed.addAll(localRevalidation.sweep(channels.localTransports()));
                return List.copyOf(closed);
            }, revalidator);
        } catch (RejectedExecutionException e) {
            return CompletableFuture.failedFuture(new IllegalStateException("the registry node of site "
                    + settings.site() + " is closed", e));
        }
    }

    @Override
    public void close() {
        revalidator.shutdownNow();
        delayer.shutdownNow();
        channels.close();
        // After the cache manager has left the cluster: connections relayed through this replica to another site
        // master keep flowing until then.
        cacheManager.stop();
        relay.ifPresent(BridgeRelay::close);
    }
}
