package io.isthmus.trust.runtime;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.jboss.logging.Logger;

import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.BundleSource;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.AuthorityValidator;
import io.isthmus.trust.ca.CertificateAuthority;
import io.isthmus.trust.federation.BundleEndpointServer;
import io.isthmus.trust.federation.BundleStore;
import io.isthmus.trust.federation.LocalBundle;
import io.isthmus.trust.federation.PeerBundleSync;
import io.isthmus.trust.federation.PeerBundleValidator;
import io.isthmus.trust.federation.SyncListener;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.tls.SvidSource;

/**
 * A gateway's trust plane, assembled and running: its CA, its own SVID (renewed at half life), its published
 * bundle, the bundles of its peers (persisted, polled), the SPIFFE bundle endpoint, and a verifier that reads
 * the live bundles. The SVID and the bundles change together as one {@link TrustSnapshot}; listeners are told
 * after each swap, on the thread that made it (the renewal thread, or a bundle-sync thread), and must not block.
 */
public final class TrustRuntime implements AutoCloseable, SvidSource, BundleSource {
    private static final Logger LOG = Logger.getLogger(TrustRuntime.class);
    private static final Duration RENEW_RETRY = Duration.ofSeconds(5);

    private final TrustSettings settings;
    private final Clock clock;
    private final CertificateAuthority ca;
    private final BundleStore store;
    private final LocalBundle localBundle;
    private final X509SvidVerifier verifier;
    private final PeerBundleSync sync;
    private final BundleEndpointServer endpoint;
    private final ScheduledExecutorService renewer;
    private final AtomicReference<TrustSnapshot> snapshot = new AtomicReference<>();
    private final List<Consumer<TrustSnapshot>> listeners = new CopyOnWriteArrayList<>();
    private volatile Instant lastRenewalFailure;

    private TrustRuntime(TrustSettings settings, Clock clock, SyncListener syncListener) throws IOException {
        this.settings = settings;
        this.clock = clock;
        AuthorityValidator authorities = new AuthorityValidator(settings.roots(), settings.clockSkew());
        this.ca = new CertificateAuthority(settings.trustDomain(), authorities, settings.intermediate(), clock);
        BundleCodec codec = new BundleCodec();
        this.store = new BundleStore(settings.dataDir().resolve("bundles"), codec);
        this.localBundle = new LocalBundle(settings.trustDomain(), store, authorities, clock, settings.bundleRefreshHint());
        localBundle.initialize(ca.current().certificate());
        this.verifier = new X509SvidVerifier(settings.roots(), store, clock, settings.clockSkew());
        X509Svid first = ca.issue(settings.gatewayId(), settings.svidTtl());
        snapshot.set(new TrustSnapshot(first, store.snapshot()));
        store.addListener(this::bundlesChanged);
        this.renewer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "isthmus-svid-renewal");
            t.setDaemon(true);
            return t;
        });
        scheduleRenewal(first);
        this.sync = new PeerBundleSync(settings.peers(), settings.roots(), store,
                new PeerBundleValidator(authorities, clock), codec, settings.sync(), settings.clockSkew(), clock,
                syncListener);
        this.endpoint = BundleEndpointServer.start(settings.bundleEndpoint(), this,
                () -> store.bundleFor(settings.trustDomain()).orElseThrow(), codec, clock);
        sync.start();
    }

    /**
     * Builds and starts the trust plane: validates the intermediate, publishes the local bundle, issues the
     * gateway SVID, starts the bundle endpoint and peer polling.
     */
    public static TrustRuntime start(TrustSettings settings, Clock clock, SyncListener syncListener) throws IOException {
        return new TrustRuntime(settings, clock, syncListener);
    }

    private void bundlesChanged(BundleSet bundles) {
        TrustSnapshot next = snapshot.updateAndGet(s -> s.withBundles(bundles));
        notifyListeners(next);
    }

    private void scheduleRenewal(X509Svid svid) {
        Duration delay = Duration.between(clock.instant(), svid.halfLife());
        renewer.schedule(this::renew, Math.max(0, delay.toMillis()), TimeUnit.MILLISECONDS);
    }

    private void renew() {
        try {
            X509Svid next = ca.issue(settings.gatewayId(), settings.svidTtl());
            TrustSnapshot updated = snapshot.updateAndGet(s -> s.withSvid(next));
            lastRenewalFailure = null;
            LOG.debugf("renewed gateway SVID %s until %s", next.id(), next.notAfter());
            notifyListeners(updated);
            scheduleRenewal(next);
        } catch (RuntimeException e) {
            lastRenewalFailure = clock.instant();
            LOG.errorf("renewing the gateway SVID failed, retrying in %s: %s", RENEW_RETRY, e.getMessage());
            renewer.schedule(this::renew, RENEW_RETRY.toMillis(), TimeUnit.MILLISECONDS);
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

    public InetSocketAddress bundleEndpointAddress() {
        return endpoint.address();
    }

    /** When the last renewal of the gateway SVID failed, if the most recent attempt did. */
    public Optional<Instant> lastRenewalFailure() {
        return Optional.ofNullable(lastRenewalFailure);
    }

    @Override
    public void close() {
        endpoint.close();
        sync.close();
        renewer.shutdownNow();
    }
}
