package io.isthmus.registry.store;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import org.infinispan.Cache;
import org.infinispan.notifications.Listener;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryCreated;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryModified;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryRemoved;
import org.infinispan.notifications.cachelistener.event.CacheEntryCreatedEvent;
import org.infinispan.notifications.cachelistener.event.CacheEntryModifiedEvent;
import org.infinispan.notifications.cachelistener.event.CacheEntryRemovedEvent;
import org.jboss.logging.Logger;

import io.isthmus.registry.ClusterIdentity;
import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.NotOwnerException;
import io.isthmus.registry.Registry;
import io.isthmus.registry.RegistryListener;
import io.isthmus.registry.RegistryQuery;
import io.isthmus.registry.ServiceKey;

/**
 * The registry on an Infinispan cache of JSON strings (see {@link EntryCodec}). A cache listener keeps a decoded
 * index by mesh name, so resolution never decodes or scans; it also records, per remote cluster, when an update
 * from it last arrived.
 */
public final class InfinispanRegistry implements Registry, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(InfinispanRegistry.class);
    private static final Comparator<ExportedService> ORDER = Comparator.comparing((ExportedService e) -> e.key().cluster())
            .thenComparing(e -> e.key().namespace()).thenComparing(e -> e.key().name());

    /** Replaced when the cache restarts with other backup sites ({@link #restartCache}). */
    private volatile Cache<String, String> cache;
    /**
     * Writes share it; a cache restart holds it alone, so no write meets a stopped cache. Reads never take it: they
     * use the index, which stays whole through a restart, so resolution (routing) never waits for one.
     */
    private final java.util.concurrent.locks.ReadWriteLock restart = new java.util.concurrent.locks.ReentrantReadWriteLock();
    private final ClusterIdentity identity;
    private final Clock clock;
    /** namespace/name → cluster → entry. */
    private final Map<String, Map<String, ExportedService>> byName = new ConcurrentHashMap<>();
    private final Map<String, Instant> lastUpdateFrom = new ConcurrentHashMap<>();
    private final List<RegistryListener> listeners = new CopyOnWriteArrayList<>();
    private final IndexListener indexListener = new IndexListener();
    private final java.util.concurrent.atomic.AtomicLong refusedEntries = new java.util.concurrent.atomic.AtomicLong();

    public InfinispanRegistry(Cache<String, String> cache, ClusterIdentity identity, Clock clock) {
        this.cache = cache;
        this.identity = identity;
        this.clock = clock;
        cache.addListener(indexListener);
        for (Map.Entry<String, String> e : cache.entrySet()) {
            decode(e.getValue()).filter(x -> admissible(e.getKey(), x)).ifPresent(this::index);
        }
    }

    @Override
    public String cluster() {
        return identity.cluster();
    }

    @Override
    public String meshSuffix() {
        return identity.meshSuffix();
    }

    private void requireOwner(ServiceKey key) {
        if (!identity.cluster().equals(key.cluster())) {
            throw new NotOwnerException(key, identity.cluster());
        }
    }

    @Override
    public ExportedService export(ExportSpec spec) {
        requireOwner(spec.key());
        restart.readLock().lock();
        try {
            return write(spec);
        } finally {
            restart.readLock().unlock();
        }
    }

    private ExportedService write(ExportSpec spec) {
        Instant now = clock.instant();
        String k = EntryCodec.key(spec.key());
        // Compare-and-set rather than cache.compute(): a compute function runs on the key's primary owner, which
        // may be another replica, and would have to be marshalled there.
        while (true) {
            String old = cache.get(k);
            ExportedService previous = old == null ? null : decode(old).orElse(null);
            ExportedService next = build(spec, previous == null ? 1 : previous.revision(), now);
            if (previous != null && !sameContent(previous, next)) {
                next = build(spec, previous.revision() + 1, now);
            }
            String json = EntryCodec.encode(next);
            if (old == null ? cache.putIfAbsent(k, json) == null : cache.replace(k, old, json)) {
                return next;
            }
        }
    }

    private ExportedService build(ExportSpec spec, long revision, Instant now) {
        return new ExportedService(spec.key(), spec.ports(), spec.identities(), identity.ingress(), identity.locality(),
                spec.readyEndpoints(), revision, now, identity.lease());
    }

    private static boolean sameContent(ExportedService a, ExportedService b) {
        return a.ports().equals(b.ports()) && a.identities().equals(b.identities()) && a.ingress().equals(b.ingress())
                && a.locality().equals(b.locality()) && a.readyEndpoints() == b.readyEndpoints()
                && a.lease().equals(b.lease());
    }

    @Override
    public boolean unexport(ServiceKey key) {
        requireOwner(key);
        restart.readLock().lock();
        try {
            return cache.remove(EntryCodec.key(key)) != null;
        } finally {
            restart.readLock().unlock();
        }
    }

    @Override
    public int heartbeat() {
        restart.readLock().lock();
        try {
            return renewAll();
        } finally {
            restart.readLock().unlock();
        }
    }

    private int renewAll() {
        Instant now = clock.instant();
        int renewed = 0;
        for (ExportedService e : list(RegistryQuery.cluster(identity.cluster()))) {
            String k = EntryCodec.key(e.key());
            while (true) {
                String old = cache.get(k);
                ExportedService prev = old == null ? null : decode(old).orElse(null);
                if (prev == null) {
                    break;
                }
                String next = EntryCodec.encode(new ExportedService(prev.key(), prev.ports(), prev.identities(),
                        prev.ingress(), prev.locality(), prev.readyEndpoints(), prev.revision(), now, prev.lease()));
                if (cache.replace(k, old, next)) {
                    renewed++;
                    break;
                }
            }
        }
        return renewed;
    }

    @Override
    public List<ExportedService> list(RegistryQuery query) {
        Instant now = clock.instant();
        List<ExportedService> out = new ArrayList<>();
        for (Map<String, ExportedService> perCluster : byName.values()) {
            for (ExportedService e : perCluster.values()) {
                if (query.matches(e, now)) {
                    out.add(e);
                }
            }
        }
        out.sort(ORDER);
        return out;
    }

    @Override
    public Optional<ExportedService> get(ServiceKey key) {
        Map<String, ExportedService> perCluster = byName.get(key.namespace() + "/" + key.name());
        return Optional.ofNullable(perCluster == null ? null : perCluster.get(key.cluster()));
    }

    @Override
    public List<ExportedService> exportsOf(MeshName name) {
        Map<String, ExportedService> perCluster = byName.get(name.namespace() + "/" + name.service());
        if (perCluster == null) {
            return List.of();
        }
        List<ExportedService> out = new ArrayList<>(perCluster.values());
        out.sort(ORDER);
        return out;
    }

    /**
     * Moves the registry to a restarted cache (other backup sites after a membership change), losing nothing:
     * {@code restarter} stops the running cache and returns the new one (see {@code RegistryNode.restartRegistryCache}).
     * The index serves reads throughout. Afterwards this cluster's own entries are written again (so they replicate to
     * every backup site of the new cache, a new site included), and other clusters' entries are put back as they
     * arrived, with the cross-site version of the site that wrote them, through the cache's own cross-site receiver:
     * later updates from their owners then win or lose exactly as they would have. Writes wait for the restart.
     */
    public void restartCache(java.util.function.UnaryOperator<Cache<String, String>> restarter) {
        restart.writeLock().lock();
        try {
            Cache<String, String> old = cache;
            List<Captured> captured = capture(old);
            old.removeListener(indexListener);
            Cache<String, String> next = restarter.apply(old);
            next.addListener(indexListener);
            cache = next;
            int own = 0;
            int others = 0;
            org.infinispan.xsite.BackupReceiver receiver = org.infinispan.factories.ComponentRegistry.componentOf(next,
                    org.infinispan.xsite.BackupReceiver.class);
            for (Captured c : captured) {
                if (next.getAdvancedCache().withFlags(org.infinispan.context.Flag.CACHE_MODE_LOCAL).containsKey(c.key())) {
                    continue; // another replica of this site already handed it over
                }
                if (c.irac() == null || c.owner().equals(identity.cluster())) {
                    next.put(c.key(), c.value());
                    own++;
                } else {
                    receiver.putKeyValue(c.key(), c.value(), c.metadata(), c.irac()).toCompletableFuture().join();
                    others++;
                }
            }
            LOG.infof("registry: cache restarted with backup sites %s; %d own and %d other entries carried over",
                    next.getCacheConfiguration().sites().allBackups().stream()
                            .map(org.infinispan.configuration.cache.BackupConfiguration::site).toList(), own, others);
        } finally {
            restart.writeLock().unlock();
        }
    }

    private record Captured(String key, String value, String owner, org.infinispan.metadata.Metadata metadata,
            org.infinispan.metadata.impl.IracMetadata irac) {
    }

    private static List<Captured> capture(Cache<String, String> from) {
        List<Captured> out = new ArrayList<>();
        var local = from.getAdvancedCache().withFlags(org.infinispan.context.Flag.CACHE_MODE_LOCAL,
                org.infinispan.context.Flag.SKIP_CACHE_LOAD);
        for (String key : new ArrayList<>(local.keySet())) {
            org.infinispan.container.entries.CacheEntry<String, String> e = local.getCacheEntry(key);
            if (e == null || e.getValue() == null) {
                continue;
            }
            String owner;
            try {
                owner = EntryCodec.parseKey(key).cluster();
            } catch (RuntimeException ex) {
                continue;
            }
            org.infinispan.metadata.impl.IracMetadata irac = e.getInternalMetadata() == null ? null
                    : e.getInternalMetadata().iracMetadata();
            out.add(new Captured(key, e.getValue(), owner, e.getMetadata(), irac));
        }
        return out;
    }

    /**
     * Forgets every entry of {@code cluster} here (it left the federation): removed from this node's copy only, not
     * replicated, since every member purges for itself when it applies the change and none may delete another's keys.
     * Listeners see each removal. Returns how many.
     */
    public int purge(String cluster) {
        if (cluster.equals(identity.cluster())) {
            throw new IllegalArgumentException("cluster " + cluster + " is this registry's own");
        }
        restart.readLock().lock();
        try {
            var local = cache.getAdvancedCache().withFlags(org.infinispan.context.Flag.CACHE_MODE_LOCAL,
                    org.infinispan.context.Flag.SKIP_XSITE_BACKUP);
            int purged = 0;
            for (String key : new ArrayList<>(local.keySet())) {
                try {
                    if (EntryCodec.parseKey(key).cluster().equals(cluster) && local.remove(key) != null) {
                        purged++;
                    }
                } catch (RuntimeException e) {
                    // not a registry key: not ours to judge
                }
            }
            // Entries the index holds without the cache (kept through a restart) go too.
            for (ExportedService e : list(RegistryQuery.cluster(cluster))) {
                if (unindex(e.key()) != null) {
                    listeners.forEach(l -> l.unexported(e));
                }
            }
            lastUpdateFrom.remove(cluster);
            return purged;
        } finally {
            restart.readLock().unlock();
        }
    }

    /** When an update from {@code cluster} last reached this gateway (replicated or state-transferred). */
    public Map<String, Instant> lastUpdateByCluster() {
        return Map.copyOf(lastUpdateFrom);
    }

    @Override
    public void addListener(RegistryListener listener) {
        listeners.add(Objects.requireNonNull(listener));
    }

    @Override
    public void removeListener(RegistryListener listener) {
        listeners.remove(listener);
    }

    @Override
    public void close() {
        cache.removeListener(indexListener);
    }

    private ExportedService index(ExportedService e) {
        if (!e.key().cluster().equals(identity.cluster())) {
            lastUpdateFrom.put(e.key().cluster(), clock.instant());
        }
        return byName.computeIfAbsent(e.key().namespace() + "/" + e.key().name(), k -> new ConcurrentHashMap<>())
                .put(e.key().cluster(), e);
    }

    private ExportedService unindex(ServiceKey key) {
        Map<String, ExportedService> perCluster = byName.get(key.namespace() + "/" + key.name());
        if (perCluster == null) {
            return null;
        }
        ExportedService removed = perCluster.remove(key.cluster());
        byName.computeIfPresent(key.namespace() + "/" + key.name(), (k, m) -> m.isEmpty() ? null : m);
        if (!key.cluster().equals(identity.cluster())) {
            lastUpdateFrom.put(key.cluster(), clock.instant());
        }
        return removed;
    }

    private static Optional<ExportedService> decode(String json) {
        try {
            return Optional.of(EntryCodec.decode(json));
        } catch (RuntimeException e) {
            LOG.warnf("ignoring a registry entry that cannot be read (%s); a newer or broken writer?", e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * Whether an entry that arrived under {@code cacheKey} may be indexed: its content must describe that very key,
     * and a key of another cluster must have been written by that cluster's site (the site in the entry's
     * cross-site version, which RELAY2 only accepts from a connection that proved that site's trust domain). So a
     * peer can neither place an entry under another cluster's name nor overwrite another cluster's entry.
     */
    private boolean admissible(String cacheKey, ExportedService e) {
        if (!EntryCodec.key(e.key()).equals(cacheKey)) {
            refused(cacheKey, "its content describes " + e.key());
            return false;
        }
        String owner = e.key().cluster();
        if (owner.equals(identity.cluster())) {
            return true;
        }
        String writer = writerSite(cacheKey);
        if (writer != null && !writer.equals(owner)) {
            refused(cacheKey, "it was written by site " + writer);
            return false;
        }
        return true;
    }

    /** The site that wrote the entry's current version (null when the cache is not replicated across sites). */
    private String writerSite(String cacheKey) {
        org.infinispan.container.entries.CacheEntry<String, String> entry = cache.getAdvancedCache()
                .withFlags(org.infinispan.context.Flag.CACHE_MODE_LOCAL, org.infinispan.context.Flag.SKIP_CACHE_LOAD)
                .getCacheEntry(cacheKey);
        if (entry == null || entry.getInternalMetadata() == null || entry.getInternalMetadata().iracMetadata() == null) {
            return null;
        }
        return entry.getInternalMetadata().iracMetadata().getSite();
    }

    private void refused(String cacheKey, String why) {
        long n = refusedEntries.incrementAndGet();
        if (n == 1 || n % 100 == 0) {
            LOG.warnf("registry: not using the entry under %s: %s (%d refused so far)", cacheKey, why, n);
        }
    }

    /** Entries received that were not indexed because they claimed a key or a cluster that was not theirs. */
    public long refusedEntries() {
        return refusedEntries.get();
    }

    private void changed(String cacheKey, String value) {
        decode(value).filter(e -> admissible(cacheKey, e)).ifPresent(e -> {
            ExportedService previous = index(e);
            for (RegistryListener l : listeners) {
                try {
                    l.exported(e, previous);
                } catch (RuntimeException ex) {
                    LOG.warnf(ex, "registry listener %s failed on %s", l, e.key());
                }
            }
        });
    }

    @Listener(observation = Listener.Observation.POST)
    public final class IndexListener {
        @CacheEntryCreated
        public void created(CacheEntryCreatedEvent<String, String> event) {
            changed(event.getKey(), event.getValue());
        }

        @CacheEntryModified
        public void modified(CacheEntryModifiedEvent<String, String> event) {
            changed(event.getKey(), event.getNewValue());
        }

        @CacheEntryRemoved
        public void removed(CacheEntryRemovedEvent<String, String> event) {
            ServiceKey key;
            try {
                key = EntryCodec.parseKey(event.getKey());
            } catch (RuntimeException e) {
                return;
            }
            ExportedService previous = unindex(key);
            if (previous != null) {
                for (RegistryListener l : listeners) {
                    try {
                        l.unexported(previous);
                    } catch (RuntimeException ex) {
                        LOG.warnf(ex, "registry listener %s failed on removal of %s", l, key);
                    }
                }
            }
        }
    }
}
