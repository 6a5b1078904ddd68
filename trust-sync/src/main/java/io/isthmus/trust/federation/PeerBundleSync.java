package io.isthmus.trust.federation;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.ParsedBundle;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.RootsSource;
import io.isthmus.trust.federation.PeerBundleValidator.Decision;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.status.PeerReport;
import io.isthmus.trust.status.PeerStatusSource;
import io.isthmus.trust.text.Printable;

/**
 * Keeps every peer's bundle current: loads the last good bundle of each peer from disk at start, then polls
 * each peer's bundle endpoint at its refresh hint, validates what arrives ({@link PeerBundleValidator}) and
 * installs it in the {@link BundleStore}. A failed or refused poll changes nothing: the last good bundle stays
 * in force, and the poll is retried with backoff.
 *
 * <p>One scheduler thread; fetches are asynchronous, so a slow peer does not delay the others.
 */
public final class PeerBundleSync implements AutoCloseable, PeerStatusSource {
    private static final Logger LOG = Logger.getLogger(PeerBundleSync.class);

    /** Replaced whole when membership changes ({@link #setPeers}); readers iterate a stable copy. */
    private volatile Map<TrustDomain, Peer> peers = Map.of();
    private final RootsSource roots;
    private final BundleCodec codec;
    private final Duration skew;
    private final BundleStore store;
    private final PeerBundleValidator validator;
    private final SyncSettings settings;
    private final Clock clock;
    private final SyncListener listener;
    private final ScheduledExecutorService scheduler;
    private final ExecutorService httpExecutor;

    public PeerBundleSync(List<PeerConfig> configs, RootsSource roots, BundleStore store,
            PeerBundleValidator validator, BundleCodec codec, SyncSettings settings, Duration skew, Clock clock,
            SyncListener listener) {
        this.store = store;
        this.validator = validator;
        this.settings = settings;
        this.clock = clock;
        this.listener = listener;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "isthmus-bundle-sync"));
        this.httpExecutor = Executors.newCachedThreadPool(r -> daemon(r, "isthmus-bundle-fetch"));
        this.roots = roots;
        this.codec = codec;
        this.skew = skew;
        this.peers = build(configs, Map.of());
    }

    private Map<TrustDomain, Peer> build(List<PeerConfig> configs, Map<TrustDomain, Peer> existing) {
        Map<TrustDomain, Peer> next = new LinkedHashMap<>();
        for (PeerConfig config : configs) {
            if (next.containsKey(config.trustDomain())) {
                throw new IllegalArgumentException("two peers configured for trust domain " + config.trustDomain());
            }
            Peer old = existing.get(config.trustDomain());
            if (old != null && old.config.equals(config)) {
                next.put(config.trustDomain(), old);
                continue;
            }
            BundleEndpointClient client = new BundleEndpointClient(config, roots, store, clock, skew, codec,
                    settings.fetchTimeout(), httpExecutor);
            next.put(config.trustDomain(), new Peer(config, client));
        }
        return next;
    }

    /**
     * Changes the set of peers at run time (a membership change): new peers are loaded from disk and polled at once,
     * removed ones stop being polled. Their bundles are the caller's to remove from the store. Returns the trust
     * domains that were removed.
     */
    public synchronized List<TrustDomain> setPeers(List<PeerConfig> configs) {
        Map<TrustDomain, Peer> before = peers;
        Map<TrustDomain, Peer> after = build(configs, before);
        peers = after;
        List<TrustDomain> removed = new java.util.ArrayList<>();
        before.forEach((td, peer) -> {
            if (after.get(td) != peer) {
                synchronized (peer) {
                    peer.removed = true;
                    if (peer.next != null) {
                        peer.next.cancel(false);
                    }
                }
                if (!after.containsKey(td)) {
                    removed.add(td);
                }
            }
        });
        after.forEach((td, peer) -> {
            if (before.get(td) != peer) {
                loadPersisted(peer);
                schedule(peer, Duration.ZERO);
            }
        });
        return removed;
    }

    /** Polls every peer now, outside their schedules (e.g. after the roots changed, so a refused bundle is retried). */
    public void refreshAll() {
        for (Peer peer : peers.values()) {
            schedule(peer, Duration.ZERO);
        }
    }

    /** Asks every peer for its trust status, in parallel, waiting at most {@code timeout} in all. */
    @Override
    public List<PeerReport> fetchAll(Duration timeout) {
        Map<TrustDomain, Peer> current = peers;
        List<CompletableFuture<PeerReport>> asks = new java.util.ArrayList<>();
        for (Peer peer : current.values()) {
            String name = peer.config.name();
            TrustDomain td = peer.config.trustDomain();
            asks.add(peer.client.fetchStatus(timeout)
                    .<PeerReport>thenApply(status -> new PeerReport.Reported(name, td, status))
                    .completeOnTimeout(new PeerReport.Unavailable(name, td, "no answer within " + timeout),
                            timeout.toMillis(), TimeUnit.MILLISECONDS)
                    .exceptionally(failure -> {
                        Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                                ? failure.getCause() : failure;
                        return new PeerReport.Unavailable(name, td, Printable.escape(cause.getMessage()));
                    }));
        }
        List<PeerReport> reports = new java.util.ArrayList<>();
        for (CompletableFuture<PeerReport> ask : asks) {
            reports.add(ask.join());
        }
        return reports;
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Loads persisted bundles (validated again: roots may have changed while we were down), then starts polling. */
    public void start() {
        for (Peer peer : peers.values()) {
            loadPersisted(peer);
            schedule(peer, Duration.ZERO);
        }
    }

    private void loadPersisted(Peer peer) {
        TrustDomain td = peer.config.trustDomain();
        try {
            Optional<ParsedBundle> persisted = store.readPersisted(td);
            if (persisted.isEmpty()) {
                return;
            }
            Decision decision = validator.decide(td, persisted.get().bundle(), Optional.empty());
            if (decision instanceof Decision.Accept accept) {
                store.put(accept.bundle());
                // Fresh as of when it was written, not as of now: a week-old file is a week-old bundle.
                peer.loaded(java.nio.file.Files.getLastModifiedTime(store.fileOf(td)).toInstant());
                LOG.infof("peer %s (%s): loaded persisted bundle, sequence %d", peer.config.name(), td,
                        accept.bundle().sequence());
            }
        } catch (BundleRejectedException | IllegalArgumentException | IOException e) {
            LOG.warnf("peer %s (%s): persisted bundle not usable, will fetch afresh: %s", peer.config.name(), td,
                    e.getMessage());
        }
    }

    /**
     * What this gateway holds of a peer, answered to a refresh hint ({@link RefreshHint}); {@code held} is empty when
     * the hint was refused or no bundle of the peer has arrived yet.
     */
    public record HintAnswer(RefreshHint.Verdict verdict, Optional<TrustBundle> held) {
    }

    /**
     * A refresh hint naming {@code requested} arrived: pulls that peer's bundle now from its configured endpoint, at
     * most once per {@code minRefresh} per peer, and answers with what this gateway holds of it now (before the pull
     * completes: the hinting peer asks again to learn the outcome). Never blocks on the network.
     */
    public HintAnswer hint(String requested) {
        Map<TrustDomain, Peer> current = peers;
        Peer peer;
        RefreshHint.Verdict verdict;
        Instant now = clock.instant();
        TrustDomain td;
        try {
            td = requested == null ? null : TrustDomain.parse(requested);
        } catch (IllegalArgumentException e) {
            td = null;
        }
        peer = td == null ? null : current.get(td);
        if (peer == null) {
            verdict = RefreshHint.decide(requested, current.keySet(), Optional.empty(), now, settings.minRefresh());
            return new HintAnswer(verdict, Optional.empty());
        }
        synchronized (peer) {
            verdict = RefreshHint.decide(requested, current.keySet(), Optional.ofNullable(peer.lastHintedPull), now,
                    settings.minRefresh());
            if (verdict instanceof RefreshHint.Verdict.Pull) {
                peer.lastHintedPull = now;
            }
        }
        if (verdict instanceof RefreshHint.Verdict.Pull) {
            LOG.debugf("peer %s (%s): refresh hint received, pulling its bundle now", peer.config.name(), td);
            schedule(peer, Duration.ZERO);
        }
        return new HintAnswer(verdict, store.bundleFor(td));
    }

    /**
     * Sends every peer a refresh hint naming {@code own} (this gateway's trust domain, whose bundle just changed), in
     * parallel; each answer says which JWT key IDs of {@code own} that peer holds now.
     */
    public Map<TrustDomain, CompletableFuture<BundleEndpointClient.HintReply>> hintPeers(TrustDomain own,
            java.util.function.Predicate<TrustDomain> which) {
        Map<TrustDomain, CompletableFuture<BundleEndpointClient.HintReply>> out = new LinkedHashMap<>();
        peers.forEach((td, peer) -> {
            if (which.test(td)) {
                out.put(td, peer.client.hint(own));
            }
        });
        return out;
    }

    /** The trust domains this gateway federates with now. */
    public java.util.Set<TrustDomain> peerDomains() {
        return peers.keySet();
    }

    /** Polls one peer now, outside its schedule (admin "refresh", tests). */
    public CompletableFuture<PeerSyncStatus> refreshNow(TrustDomain td) {
        Peer peer = peers.get(td);
        if (peer == null) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("no peer with trust domain " + td));
        }
        return poll(peer).thenApply(ignored -> status(peer));
    }

    private void schedule(Peer peer, Duration delay) {
        if (scheduler.isShutdown()) {
            return;
        }
        synchronized (peer) {
            if (peer.removed) {
                return;
            }
            if (peer.next != null) {
                peer.next.cancel(false);
            }
            peer.next = scheduler.schedule(() -> poll(peer), delay.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private CompletableFuture<Void> poll(Peer peer) {
        TrustDomain td = peer.config.trustDomain();
        peer.lastAttempt = clock.instant();
        return peer.client.fetch()
                .thenAcceptAsync(parsed -> apply(peer, parsed), httpExecutor)
                .handleAsync((ok, failure) -> {
                    Duration interval = peer.interval(settings, store);
                    if (failure == null) {
                        if (peer.unreachableSince != null) {
                            LOG.infof("peer %s (%s): bundle endpoint reachable again, after %d failed attempts since %s",
                                    peer.config.name(), td, peer.failures, peer.unreachableSince);
                        }
                        peer.failures = 0;
                        peer.unreachableSince = null;
                        schedule(peer, interval);
                        return null;
                    }
                    Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                            ? failure.getCause() : failure;
                    BundleRejection reason = cause instanceof BundleRejectedException r ? r.reason()
                            : BundleRejection.FETCH_FAILED;
                    boolean stillUnreachable = reason == BundleRejection.FETCH_FAILED && peer.unreachableSince != null;
                    // Escaped here too: a failure that is not a refusal (BundleRejectedException escapes its own).
                    String why = Printable.escape(cause.getMessage());
                    peer.failed(reason, why);
                    listener.rejected(td, reason, why);
                    Duration retry = backoff(peer.failures, interval);
                    if (stillUnreachable) {
                        // A peer that is down, or not up yet: one warning, not one per attempt.
                        LOG.debugf("peer %s (%s): still unreachable (attempt %d): %s; retrying in %s",
                                peer.config.name(), td, peer.failures, why, retry);
                    } else if (reason == BundleRejection.FETCH_FAILED) {
                        peer.unreachableSince = clock.instant();
                        LOG.warnf("peer %s (%s): %s: %s; retrying in %s, with back-off (repeats are logged at DEBUG "
                                + "until it answers). If this lasts, check that %s's gateway is up and its bundle "
                                + "endpoint reachable from here (isthmus check); its last good bundle stays in force",
                                peer.config.name(), td, reason.label(), why, retry, peer.config.name());
                    } else {
                        peer.unreachableSince = null;
                        LOG.warnf("peer %s (%s): %s: %s", peer.config.name(), td, reason.label(), why);
                    }
                    schedule(peer, retry);
                    return null;
                }, httpExecutor);
    }

    private void apply(Peer peer, ParsedBundle parsed) {
        TrustDomain td = peer.config.trustDomain();
        if (peer.removed) {
            return;
        }
        parsed.warnings().forEach(w -> LOG.warnf("peer %s (%s): %s", peer.config.name(), td, w));
        try {
            Decision decision = validator.decide(td, parsed.bundle(), store.bundleFor(td));
            if (decision instanceof Decision.Accept accept) {
                accept.warnings().forEach(w -> LOG.warnf("peer %s (%s): %s", peer.config.name(), td, w));
                // Judged again under the store's lock: the peer may have been removed while its bundle was fetched and
                // validated (setPeers replaces the peers before the caller removes the bundle).
                java.util.concurrent.atomic.AtomicReference<FetchedBundle.Verdict> verdict =
                        new java.util.concurrent.atomic.AtomicReference<>();
                boolean installed;
                try {
                    installed = store.putIf(accept.bundle(), () -> verdict.updateAndGet(ignored -> FetchedBundle.decide(
                            peer.config, Optional.ofNullable(peers.get(td)).map(p -> p.config)))
                            instanceof FetchedBundle.Verdict.Install);
                } catch (IOException e) {
                    // In force in memory; the store logged the write failure. Keep going.
                    installed = true;
                }
                if (!installed) {
                    LOG.infof("%s", ((FetchedBundle.Verdict.Discard) verdict.get()).detail());
                    return;
                }
                LOG.infof("peer %s (%s): accepted bundle sequence %d", peer.config.name(), td, accept.bundle().sequence());
                listener.accepted(td, accept.bundle());
            }
            peer.succeeded(clock.instant());
        } catch (BundleRejectedException e) {
            throw new CompletionException(e);
        }
    }

    private Duration backoff(int failures, Duration interval) {
        long base = settings.initialBackoff().toMillis() << Math.min(failures - 1, 16);
        long capped = Math.min(base, interval.toMillis());
        long jitter = ThreadLocalRandom.current().nextLong(capped / 5 + 1);
        return Duration.ofMillis(capped - jitter);
    }

    public Map<TrustDomain, PeerSyncStatus> status() {
        Map<TrustDomain, PeerSyncStatus> out = new LinkedHashMap<>();
        peers.forEach((td, peer) -> out.put(td, status(peer)));
        return out;
    }

    private PeerSyncStatus status(Peer peer) {
        TrustDomain td = peer.config.trustDomain();
        Optional<TrustBundle> bundle = store.bundleFor(td);
        Duration interval = peer.interval(settings, store);
        Instant now = clock.instant();
        boolean stale = bundle.isEmpty() || peer.lastSuccess == null
                || Duration.between(peer.lastSuccess, now).compareTo(interval.multipliedBy(settings.staleFactor())) > 0;
        return new PeerSyncStatus(peer.config.name(), td, bundle.map(TrustBundle::sequence),
                Optional.ofNullable(peer.lastSuccess), Optional.ofNullable(peer.lastAttempt),
                Optional.ofNullable(peer.lastError), Optional.ofNullable(peer.lastRejection), interval,
                peer.fromDisk, stale);
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
        httpExecutor.shutdownNow();
    }

    /** Mutable per-peer bookkeeping; fields are written by the poll's completion and read by status(). */
    private static final class Peer {
        final PeerConfig config;
        final BundleEndpointClient client;
        ScheduledFuture<?> next;
        volatile boolean removed;
        volatile Instant lastSuccess;
        volatile Instant lastAttempt;
        volatile String lastError;
        volatile BundleRejection lastRejection;
        volatile boolean fromDisk;
        volatile int failures;
        /** When the current run of failed fetches (an unreachable endpoint) began; null when the last one answered. */
        volatile Instant unreachableSince;
        /** Guarded by the peer's monitor. */
        Instant lastHintedPull;

        Peer(PeerConfig config, BundleEndpointClient client) {
            this.config = config;
            this.client = client;
        }

        Duration interval(SyncSettings settings, BundleStore store) {
            return settings.interval(store.bundleFor(config.trustDomain()).flatMap(TrustBundle::refreshHint));
        }

        void loaded(Instant writtenAt) {
            lastSuccess = writtenAt;
            fromDisk = true;
        }

        void succeeded(Instant now) {
            lastSuccess = now;
            fromDisk = false;
            lastError = null;
            lastRejection = null;
        }

        void failed(BundleRejection reason, String message) {
            failures++;
            lastRejection = reason;
            lastError = message;
        }
    }
}
