package io.isthmus.gateway.jwt;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import org.infinispan.Cache;
import org.infinispan.configuration.cache.CacheMode;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.notifications.Listener;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryCreated;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryExpired;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryModified;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryRemoved;
import org.infinispan.notifications.cachelistener.annotation.TopologyChanged;
import org.infinispan.notifications.cachelistener.event.CacheEntryEvent;
import org.infinispan.notifications.cachelistener.event.TopologyChangedEvent;
import org.infinispan.partitionhandling.PartitionHandling;
import org.infinispan.remoting.transport.Address;
import org.jboss.logging.Logger;

import io.isthmus.gateway.enrolment.EnrolmentCluster;
import io.isthmus.gateway.jwt.rotation.ReplicaRotation;
import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.federation.LocalBundle;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Shares the public JWT keys of this cluster's gateway replicas, so that a token signed by any replica verifies
 * with the bundle served by every replica (and so, through the bundle exchange, in every federated cluster).
 *
 * <p>Each replica writes its ring's public keys under its own name into a cache replicated among this cluster's
 * replicas only (the enrolment cache manager, not the cross-site registry), and publishes in its local bundle the
 * union of all live entries ({@link ReplicaKeyMerge}), again whenever the cache changes. An entry expires at
 * {@code refresh + lease + svid-ttl}: a replica refreshes it every {@code lease / 3}, so when a replica dies its key
 * stays published until the last token it could have signed has expired, and no longer. A cleanly stopped replica
 * shortens its entry to {@code now + svid-ttl}, for the same reason. Thread-safe: writes and merges run on one
 * thread of its own; Infinispan's listener threads only schedule a merge.
 */
@Listener(sync = false)
public final class ReplicaKeyDirectory implements AutoCloseable {
    static final String CACHE = "isthmus-jwt-replica-keys";
    private static final Logger LOG = Logger.getLogger(ReplicaKeyDirectory.class);

    private final Cache<String, String> cache;
    private final String self;
    private final TrustDomain trustDomain;
    private final LocalBundle bundle;
    private final Clock clock;
    private final Duration lease;
    private final Duration svidTtl;
    private final ScheduledExecutorService worker;
    private final Set<String> warned = ConcurrentHashMap.newKeySet();
    private volatile List<JwtAuthority> own = List.of();
    private volatile Optional<ReplicaRotation> ownRotation = Optional.empty();
    private final EmbeddedCacheManager manager;
    private final Consumer<List<JwtAuthority>> onPublished;

    /**
     * @param lease how long a replica's entry outlives its last refresh, on top of {@code svidTtl}
     */
    public ReplicaKeyDirectory(EmbeddedCacheManager manager, TrustDomain trustDomain, LocalBundle bundle, Clock clock,
            Duration lease, Duration svidTtl) {
        this(manager, trustDomain, bundle, clock, lease, svidTtl, keys -> { });
    }

    /**
     * @param onPublished called after every merge with the keys the bundle publishes now (on the merging thread;
     *     must not block)
     */
    public ReplicaKeyDirectory(EmbeddedCacheManager manager, TrustDomain trustDomain, LocalBundle bundle, Clock clock,
            Duration lease, Duration svidTtl, Consumer<List<JwtAuthority>> onPublished) {
        this.onPublished = onPublished;
        this.manager = manager;
        this.cache = cache(manager);
        this.self = manager.getAddress() != null ? manager.getAddress().toString() : "local";
        this.trustDomain = trustDomain;
        this.bundle = bundle;
        this.clock = clock;
        this.lease = lease;
        this.svidTtl = svidTtl;
        this.worker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "isthmus-jwt-replica-keys");
            t.setDaemon(true);
            return t;
        });
        cache.addListener(this);
        long period = Math.max(1, lease.toMillis() / 3);
        worker.scheduleWithFixedDelay(this::refreshQuietly, period, period, TimeUnit.MILLISECONDS);
    }

    /**
     * Replicated among this cluster's replicas, in memory. Both sides of a partition keep writing (each replica its own
     * entry); when it heals every entry keeps the copy its replica wrote last ({@link NewestReplicaKeys}): Infinispan's
     * default kept each side's own copies, and a key a replica withdrew on one side stayed published by the other.
     */
    private static Cache<String, String> cache(EmbeddedCacheManager manager) {
        defineCache(manager);
        return EnrolmentCluster.replicatedInMemory(manager, CACHE);
    }

    /** Defines the replicas' key cache, without starting it (idempotent). */
    public static void defineCache(EmbeddedCacheManager manager) {
        if (manager.getCacheConfiguration(CACHE) == null && manager.getCacheManagerConfiguration().isClustered()) {
            ConfigurationBuilder b = new ConfigurationBuilder();
            b.clustering().cacheMode(CacheMode.REPL_SYNC).partitionHandling()
                    .whenSplit(PartitionHandling.ALLOW_READ_WRITES).mergePolicy(NewestReplicaKeys.MERGE);
            manager.defineConfiguration(CACHE, b.build());
        }
    }

    public String replicaName() {
        return self;
    }

    /**
     * Publishes {@code keys} (this replica's ring) for the other replicas and re-merges the bundle, before
     * returning: a rotation step's answer then matches this replica's bundle.
     */
    public synchronized void announce(List<JwtAuthority> keys) throws IOException {
        announce(keys, ownRotation);
    }

    /** As {@link #announce(List)}, with where this replica stands in the cluster's rotation. */
    public synchronized void announce(List<JwtAuthority> keys, Optional<ReplicaRotation> rotation) throws IOException {
        this.own = List.copyOf(keys);
        this.ownRotation = rotation;
        write(clock.instant().plus(lease).plus(svidTtl));
        merge();
    }

    /**
     * Where each replica of the cluster stands in the rotation: this one, and every other one in the current
     * cluster view whose entry is live and accepted. A replica that stopped (its entry lingers for its tokens) is not
     * asked to apply steps; one that is in the view but has written no entry yet is starting and catches up.
     *
     * <p>Read from the replicated cache as it stands, not from the last merge: the cache is synchronous, so a replica
     * whose write returned is seen here at once, while a merge runs later on this directory's thread (a step asked
     * here just after another replica reported the previous one complete was refused as still being applied).
     */
    public Map<String, Optional<ReplicaRotation>> liveRotations() {
        Map<String, Optional<ReplicaRotation>> out = new TreeMap<>();
        Set<String> members = members();
        Map<String, Optional<ReplicaRotation>> written = ReplicaKeyMerge.merge(trustDomain, self, own,
                new HashMap<>(cache), clock.instant()).rotations();
        written.forEach((name, r) -> {
            if (members.contains(name)) {
                out.put(name, r);
            }
        });
        out.put(self, ownRotation);
        return out;
    }

    private Set<String> members() {
        List<Address> view = manager.getMembers();
        return view == null ? Set.of(self) : view.stream().map(Object::toString).collect(Collectors.toSet());
    }

    private void write(Instant expires) {
        // The cache's own lifespan only cleans up; the merge judges expiry itself, on the injected clock.
        long lifespan = Math.max(1, Duration.between(clock.instant(), expires).toMillis()) + lease.toMillis();
        cache.put(self, new ReplicaKeys(self, own, expires, ownRotation).toJson(trustDomain, clock.instant()), lifespan,
                TimeUnit.MILLISECONDS);
    }

    private synchronized void merge() throws IOException {
        Map<String, String> entries = new HashMap<>(cache);
        ReplicaKeyMerge.Merged merged = ReplicaKeyMerge.merge(trustDomain, self, own, entries, clock.instant());
        for (ReplicaKeyMerge.Refused r : merged.refused()) {
            if (warned.add(r.toString())) {
                LOG.warnf("not publishing a JWT key of this cluster's %s", r);
            }
        }
        bundle.publishJwtAuthorities(merged.keys());
        onPublished.accept(merged.keys());
    }

    private synchronized void refreshQuietly() {
        if (stopping()) {
            return;
        }
        try {
            write(clock.instant().plus(lease).plus(svidTtl));
            merge();
        } catch (IOException | RuntimeException e) {
            // The next period tries again; until then the entry's expiry leaves room of a whole lease.
            LOG.warnf("refreshing this replica's JWT keys in the replicated cache failed: %s; retrying in %d ms",
                    e.toString(), Math.max(1, lease.toMillis() / 3));
        }
    }

    private void mergeQuietly() {
        if (stopping()) {
            return;
        }
        try {
            merge();
        } catch (IOException | RuntimeException e) {
            LOG.warnf("publishing the replicas' JWT keys in the bundle failed: %s; retrying on the next refresh",
                    e.toString());
        }
    }

    /** The cache manager is shutting down (the gateway stops): nothing to publish any more, and nothing to warn of. */
    private boolean stopping() {
        return worker.isShutdown() || !cache.getStatus().allowInvocations();
    }

    @CacheEntryCreated
    @CacheEntryModified
    @CacheEntryRemoved
    @CacheEntryExpired
    public void changed(CacheEntryEvent<String, String> event) {
        if (!event.isPre() && !worker.isShutdown()) {
            worker.execute(this::mergeQuietly);
        }
    }

    /**
     * The replicas' view changed: a replica joined or left, or a partition healed. After a heal each side may hold
     * the other side's entries as they were at the cut, and the merge that keeps the newest copy
     * ({@link NewestReplicaKeys}) writes without telling listeners: every replica writes its own entry again now, so
     * that the newest copy of each is in every cache and every replica merges its bundle from it.
     */
    @TopologyChanged
    public void topologyChanged(TopologyChangedEvent<String, String> event) {
        if (!event.isPre() && !worker.isShutdown()) {
            try {
                worker.execute(this::refreshQuietly);
            } catch (java.util.concurrent.RejectedExecutionException stopping) {
                // Stopping: nothing to publish any more.
            }
        }
    }

    /**
     * Stops refreshing. Tokens this replica signed stay valid for up to {@code svidTtl}; its entry is shortened to
     * that, so the other replicas keep its key exactly as long as needed.
     */
    @Override
    public synchronized void close() {
        worker.shutdownNow();
        try {
            cache.removeListener(this);
            if (cache.getStatus().allowInvocations()) {
                write(clock.instant().plus(svidTtl));
            }
        } catch (RuntimeException e) {
            LOG.debugf("could not shorten this replica's JWT key entry on stop (%s); it lapses after its lease", e);
        }
    }

    /** Stops without touching the cache, as a crashed replica would; for tests. */
    void abandon() {
        worker.shutdownNow();
        cache.removeListener(this);
    }
}
