package io.isthmus.trust.runtime;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.jboss.logging.Logger;

import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.BundleSource;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.AuthorityValidator;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.CertificateAuthority;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.ca.RootsSource;
import io.isthmus.trust.federation.BundleEndpointServer;
import io.isthmus.trust.federation.BundleGeneration;
import io.isthmus.trust.federation.BundleStore;
import io.isthmus.trust.federation.LocalBundle;
import io.isthmus.trust.federation.PeerBundleSync;
import io.isthmus.trust.federation.PeerBundleValidator;
import io.isthmus.trust.federation.PeerConfig;
import io.isthmus.trust.federation.PeerSyncStatus;
import io.isthmus.trust.federation.SyncListener;
import io.isthmus.trust.reload.TrustFileWatcher;
import io.isthmus.trust.rotation.IntermediateRotation;
import io.isthmus.trust.rotation.RotationException;
import io.isthmus.trust.rotation.RotationRefusal;
import io.isthmus.trust.rotation.RotationState;
import io.isthmus.trust.rotation.RotationStore;
import io.isthmus.trust.rotation.RotationView;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.status.TrustStatus;
import io.isthmus.trust.status.TrustStatusCodec;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.tls.SvidSource;
import io.isthmus.trust.x509.Certificates;

/**
 * A gateway's trust plane, assembled and running: the federation roots in force, its CA, its own SVID (renewed at
 * half life), its published bundle, the bundles of its peers (persisted, polled), the SPIFFE bundle endpoint (and
 * the trust status next to it), the rotation of its intermediate, and a verifier that reads the live roots and
 * bundles. Roots, SVID and bundles change together as one {@link TrustSnapshot}; listeners are told after each
 * swap, on the thread that made it (SVID renewal, bundle sync, the trust thread, or an admin call), and must not
 * block. TLS contexts built over this runtime ({@link SvidSource}, {@link BundleSource}, {@link RootsSource}) need no
 * rebuild: every handshake reads the snapshot in force.
 *
 * <p>Run-time changes of the federation's shape go through two methods: {@link #replaceRoots} (a root added or
 * removed: the watched root file, or a membership change) and {@link #applyMembership} (roots and peers together).
 */
public final class TrustRuntime implements AutoCloseable, SvidSource, BundleSource, RootsSource {
    private static final Logger LOG = Logger.getLogger(TrustRuntime.class);
    private static final Duration RENEW_RETRY = Duration.ofSeconds(5);

    private final TrustSettings settings;
    private final Clock clock;
    private final AtomicReference<FederationRoots> roots;
    private final CertificateAuthority ca;
    private final BundleStore store;
    private final LocalBundle localBundle;
    private final X509SvidVerifier verifier;
    private final PeerBundleSync sync;
    private final BundleEndpointServer endpoint;
    private final IntermediateRotation rotation;
    private final Optional<TrustFileWatcher> watcher;
    private final ScheduledExecutorService renewer;
    private final ScheduledExecutorService trustLoop;
    private final AtomicReference<TrustSnapshot> snapshot = new AtomicReference<>();
    private final List<Consumer<TrustSnapshot>> listeners = new CopyOnWriteArrayList<>();
    private final TrustStatusCodec statusCodec = new TrustStatusCodec();
    private final Object changes = new Object();
    /** The store swap whose bundle set is in {@link #snapshot}; guarded by {@link #changes}. */
    private long bundlesGeneration;
    private volatile Instant lastRenewalFailure;
    private volatile Instant nextFileCheck = Instant.MIN;
    /** The serial of the intermediate whose coming expiry was last logged. */
    private volatile String expiryWarned;

    private TrustRuntime(TrustSettings settings, Clock clock, SyncListener syncListener) throws IOException {
        this.settings = settings;
        this.clock = clock;
        this.roots = new AtomicReference<>(settings.roots());
        AuthorityValidator authorities = new AuthorityValidator(this, settings.clockSkew());
        RotationStore rotationStore = new RotationStore(settings.dataDir().resolve("rotation").resolve("intermediate"));
        RotationState rotationState = IntermediateRotation.recordFirstSigner(rotationStore, rotationStore.load(),
                settings.intermediate());
        this.ca = new CertificateAuthority(settings.trustDomain(), authorities,
                IntermediateRotation.signerAtStart(rotationStore, rotationState, settings.intermediate()), clock);
        BundleCodec codec = new BundleCodec();
        this.store = new BundleStore(settings.dataDir().resolve("bundles"), codec);
        this.localBundle = new LocalBundle(settings.trustDomain(), store, authorities, clock, settings.bundleRefreshHint());
        localBundle.initialize(ca.current().certificate());
        this.verifier = new X509SvidVerifier(this, store, clock, settings.clockSkew());
        X509Svid first = ca.issue(settings.gatewayId(), settings.svidTtl());
        BundleStore.Swap atStart = store.current();
        bundlesGeneration = atStart.generation();
        snapshot.set(new TrustSnapshot(roots.get(), first, atStart.bundles()));
        store.addListener(this::bundlesChanged);
        this.renewer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "isthmus-svid-renewal"));
        scheduleRenewal(first);
        this.sync = new PeerBundleSync(settings.peers(), this, store, new PeerBundleValidator(authorities, clock), codec,
                settings.sync(), settings.clockSkew(), clock, syncListener);
        this.rotation = new IntermediateRotation(settings.trustDomain(), rotationStore, rotationState, ca, localBundle,
                authorities, this, sync, this::renewNow, settings.rotation(), settings.clockSkew(), clock);
        this.endpoint = BundleEndpointServer.start(settings.bundleEndpoint(), this,
                () -> store.bundleFor(settings.trustDomain()).orElseThrow(), codec,
                () -> statusCodec.toJson(status()), clock, settings.bundleEndpointLimits());
        endpoint.serve(io.isthmus.trust.federation.RefreshHint.PATH,
                new io.isthmus.trust.federation.RefreshHintHandler(sync::hint));
        sync.start();
        try {
            adoptConfigured(settings.intermediate(), "isthmus.ca.intermediate-*");
        } catch (RotationException e) {
            // Logged; the active intermediate keeps signing.
        }
        this.watcher = settings.caFiles().map(files -> new TrustFileWatcher(files, new TrustFileWatcher.Sink() {
            @Override
            public void roots(FederationRoots next) {
                replaceRoots(next);
            }

            @Override
            public void intermediate(CaCredential next) {
                adoptConfigured(next, files.intermediateChain().toString());
            }
        }));
        this.trustLoop = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "isthmus-trust"));
        Duration tick = settings.caFiles().map(f -> min(f.pollInterval(), settings.rotation().tick()))
                .orElse(settings.rotation().tick());
        trustLoop.scheduleWithFixedDelay(this::tick, tick.toMillis(), tick.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Builds and starts the trust plane: validates the intermediate (the one a rotation activated, else the
     * configured one), publishes the local bundle, issues the gateway SVID, starts the bundle endpoint, peer polling,
     * the rotation's clock and the watch on the CA files.
     */
    public static TrustRuntime start(TrustSettings settings, Clock clock, SyncListener syncListener) throws IOException {
        return new TrustRuntime(settings, clock, syncListener);
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    // ---- snapshot ----

    private void bundlesChanged(BundleStore.Swap swap) {
        synchronized (changes) {
            if (!BundleGeneration.supersedes(swap.generation(), bundlesGeneration)) {
                // A later swap's set is in force already (its listener call overtook this one's): keep it.
                LOG.debugf("bundle set of swap %d not installed: swap %d is in force", swap.generation(),
                        bundlesGeneration);
                return;
            }
            bundlesGeneration = swap.generation();
            TrustSnapshot next = snapshot.updateAndGet(s -> s.withBundles(swap.bundles()));
            notifyListeners(next);
        }
    }

    private void scheduleRenewal(X509Svid svid) {
        Duration delay = Duration.between(clock.instant(), svid.renewalDue(clock.instant()));
        renewer.schedule(this::renew, Math.max(0, delay.toMillis()), TimeUnit.MILLISECONDS);
    }

    private void renew() {
        try {
            X509Svid next = renewNowOrThrow();
            lastRenewalFailure = null;
            scheduleRenewal(next);
        } catch (RuntimeException e) {
            lastRenewalFailure = clock.instant();
            LOG.errorf("renewing the gateway SVID failed, retrying in %s: %s", RENEW_RETRY, e.getMessage());
            renewer.schedule(this::renew, RENEW_RETRY.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Reissues the gateway's SVID now, with the active CA (after a rotation activated a new one). The renewal
     * schedule is unchanged: its next renewal simply comes early.
     */
    public void renewNow() {
        renewNowOrThrow();
    }

    private X509Svid renewNowOrThrow() {
        synchronized (changes) {
            // Issued under the lock: the scheduled renewal and a rotation's activation (which installs the new CA,
            // then calls renewNow) could otherwise both issue, and the one issued under the old CA be installed last,
            // leaving this gateway on the retiring CA until its next renewal.
            X509Svid next = ca.issue(settings.gatewayId(), settings.svidTtl());
            TrustSnapshot updated = snapshot.updateAndGet(s -> s.withSvid(next));
            LOG.debugf("renewed gateway SVID %s (signer %s) until %s", next.id(),
                    Certificates.serialHex(next.chain().size() > 1 ? next.chain().get(1) : next.leaf()), next.notAfter());
            notifyListeners(updated);
            return next;
        }
    }

    private void notifyListeners(TrustSnapshot s) {
        for (Consumer<TrustSnapshot> l : listeners) {
            try {
                l.accept(s);
            } catch (RuntimeException e) {
                LOG.warnf(e, "trust snapshot listener failed");
            }
        }
    }

    // ---- run-time changes ----

    /**
     * Puts {@code next} in force as the federation roots: verification uses them from the next handshake on, open
     * connections are re-checked by the listeners, and peers are polled again (a bundle refused for an unknown root
     * may be acceptable now). Refused, changing nothing, when a CA of this cluster's own bundle that is still valid
     * chains to no root of {@code next} (rotate the intermediate onto a remaining root, or let the old one retire,
     * first). Peers' CAs that lose their root are logged: removing a root revokes what it anchors.
     *
     * @throws RotationException with {@link RotationRefusal#ROOT_STILL_NEEDED}
     */
    public void replaceRoots(FederationRoots next) {
        synchronized (changes) {
            FederationRoots before = roots.get();
            if (before.equals(next)) {
                return;
            }
            Instant now = clock.instant();
            for (X509Certificate own : localBundle.current().x509Authorities()) {
                if (own.getNotAfter().toInstant().isAfter(now) && next.issuerOf(own).isEmpty()) {
                    boolean active = own.equals(ca.current().certificate());
                    throw new RotationException(RotationRefusal.ROOT_STILL_NEEDED, "not removing federation root "
                            + before.issuerOf(own).map(Certificates::describe).orElse("?") + ": it signs "
                            + (active ? "this cluster's active intermediate " : "intermediate ") + Certificates.describe(own)
                            + " of " + settings.trustDomain() + ", valid until " + own.getNotAfter().toInstant() + "; "
                            + (active ? "rotate the intermediate onto one of the remaining roots first"
                                    : "wait until the rotation retired it"));
                }
            }
            for (TrustBundle b : store.snapshot().bundles().values()) {
                for (X509Certificate peerCa : b.x509Authorities()) {
                    if (!b.trustDomain().equals(settings.trustDomain()) && peerCa.getNotAfter().toInstant().isAfter(now)
                            && next.issuerOf(peerCa).isEmpty()) {
                        LOG.warnf("the new federation roots do not anchor CA %s of %s: SVIDs it signs stop verifying here",
                                Certificates.describe(peerCa), b.trustDomain());
                    }
                }
            }
            roots.set(next);
            TrustSnapshot updated = snapshot.updateAndGet(s -> s.withRoots(next));
            LOG.infof("federation roots now %s (were %s)", describe(next), describe(before));
            notifyListeners(updated);
        }
        sync.refreshAll();
    }

    /**
     * A membership change: the roots and the set of peers, applied together under one lock (no other trust change
     * interleaves); removed peers' bundles leave the store, so their SVIDs stop verifying. Listeners see the new roots,
     * then the new bundles (two consecutive snapshots when both change); new peers are polled at once.
     *
     * @throws RotationException when the roots may not change (see {@link #replaceRoots})
     */
    public void applyMembership(FederationRoots nextRoots, List<PeerConfig> peers) throws IOException {
        synchronized (changes) {
            replaceRoots(nextRoots);
            for (TrustDomain removed : sync.setPeers(peers)) {
                store.remove(removed);
                LOG.infof("peer %s left the federation; its bundle was removed", removed);
            }
        }
    }

    /**
     * A new intermediate from the configuration (the watched files, or the configured one at start). Taken as a new
     * rotation that runs by itself unless it is the active CA, the one a rotation is already bringing in, or one this
     * cluster retired (a stale file: logged, not used).
     */
    private void adoptConfigured(CaCredential configured, String source) {
        String serial = Certificates.serialHex(configured.certificate());
        String active = Certificates.serialHex(ca.current().certificate());
        RotationState s = rotation.state();
        if (serial.equals(active) || s.nextSerial().equals(Optional.of(serial))) {
            return;
        }
        if (s.usedSerials().contains(serial) || s.previousSerial().equals(Optional.of(serial))) {
            LOG.infof("%s holds intermediate serial %s, which a rotation replaced with %s; it is not used (update the "
                    + "files to the active intermediate to silence this)", source, serial, active);
            return;
        }
        try {
            rotation.submit(configured, true);
        } catch (RotationException e) {
            LOG.warnf("the new intermediate serial %s in %s was not taken (%s): %s", serial, source,
                    e.refusal().code(), e.getMessage());
            throw e;
        }
    }

    private void tick() {
        try {
            rotation.tick();
            RotationView view = rotation.view();
            String warnFor = view.expiryWarning().isPresent() ? view.active().serial() : null;
            if (warnFor != null && !warnFor.equals(expiryWarned)) {
                LOG.warn(view.expiryWarning().get());
            }
            expiryWarned = warnFor;
            if (watcher.isPresent() && !clock.instant().isBefore(nextFileCheck)) {
                watcher.get().check();
                nextFileCheck = clock.instant().plus(watcher.get().files().pollInterval());
            }
        } catch (RuntimeException e) {
            LOG.warnf("trust maintenance failed: %s", e.toString());
        }
    }

    private static String describe(FederationRoots r) {
        return r.certificates().stream().map(Certificates::serialHex).toList().toString();
    }

    // ---- reading ----

    public void addListener(Consumer<TrustSnapshot> listener) {
        listeners.add(listener);
    }

    public TrustSnapshot snapshot() {
        return snapshot.get();
    }

    @Override
    public X509Svid current() {
        return snapshot.get().svid();
    }

    @Override
    public Optional<TrustBundle> bundleFor(TrustDomain td) {
        return store.bundleFor(td);
    }

    @Override
    public FederationRoots roots() {
        return roots.get();
    }

    /** What this gateway holds, as served to peers at the trust status endpoint. */
    public TrustStatus status() {
        Map<TrustDomain, PeerSyncStatus> peers = sync.status();
        Map<TrustDomain, TrustStatus.HeldBundle> held = new LinkedHashMap<>();
        for (TrustBundle b : store.snapshot().bundles().values()) {
            Optional<String> error = Optional.ofNullable(peers.get(b.trustDomain())).flatMap(PeerSyncStatus::lastError);
            held.put(b.trustDomain(), new TrustStatus.HeldBundle(b.sequence(),
                    b.x509Authorities().stream().map(Certificates::serialHex).toList(), error));
        }
        List<TrustStatus.RootInfo> rootInfos = new ArrayList<>();
        roots.get().certificates().forEach(r -> rootInfos.add(TrustStatus.RootInfo.of(r)));
        return new TrustStatus(settings.trustDomain(), clock.instant(), rootInfos, held,
                TrustStatus.AuthorityInfo.of(ca.current().certificate()), rotation.view().summary());
    }

    public TrustDomain trustDomain() {
        return settings.trustDomain();
    }

    public TrustSettings settings() {
        return settings;
    }

    public CertificateAuthority ca() {
        return ca;
    }

    public LocalBundle localBundle() {
        return localBundle;
    }

    public X509SvidVerifier verifier() {
        return verifier;
    }

    public PeerBundleSync sync() {
        return sync;
    }

    public BundleStore store() {
        return store;
    }

    public IntermediateRotation rotation() {
        return rotation;
    }

    /** Serves {@code handler} at {@code path} on the bundle endpoint's host and port (the membership document). */
    public void serveOnBundleEndpoint(String path, io.isthmus.trust.endpoint.EndpointRoute handler) {
        endpoint.serve(path, handler);
    }

    public InetSocketAddress bundleEndpointAddress() {
        return endpoint.address();
    }

    /** Connections the bundle endpoint closed at accept, over its limits, since start. */
    public long bundleEndpointRefusedConnections() {
        return endpoint.refusedConnections();
    }

    /** When the last renewal of the gateway SVID failed, if the most recent attempt did. */
    public Optional<Instant> lastRenewalFailure() {
        return Optional.ofNullable(lastRenewalFailure);
    }

    @Override
    public void close() {
        trustLoop.shutdownNow();
        endpoint.close();
        sync.close();
        renewer.shutdownNow();
    }
}
