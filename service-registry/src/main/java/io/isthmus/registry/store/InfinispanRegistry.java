package io.isthmus.registry.store;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

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
import io.isthmus.registry.EntryVersion;
import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.ExportFields;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.NotOwnerException;
import io.isthmus.registry.Registry;
import io.isthmus.registry.RegistryListener;
import io.isthmus.registry.RegistryQuery;
import io.isthmus.registry.RegistryRecord;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.signing.EntryRefusal;
import io.isthmus.registry.signing.EntryTrust;
import io.isthmus.registry.signing.EntryVerdict;
import io.isthmus.registry.signing.SignedRecord;
import io.isthmus.trust.text.Printable;

/**
 * The registry on an Infinispan cache of JSON strings (see {@link EntryCodec}). A cache listener keeps a decoded
 * index by mesh name, so resolution never decodes or scans; it also records, per remote cluster, when an update
 * from it last arrived.
 *
 * <p>Every record is signed by the gateway that wrote it and judged by {@link EntryTrust} before it is indexed,
 * whoever replicated it here: a record another site forged (an insertion, an overwrite, a replay, a removal) never
 * reaches the index, is counted by reason ({@link #refusals(EntryRefusal)}) and logged naming the site and the key.
 * A removal is a signed tombstone ({@link RegistryRecord.Tombstone}); a key that merely vanishes from the cache is a
 * forged removal, and the index keeps what it held. When the forged record is for one of this cluster's own keys,
 * this registry writes its own record again, signed, so that every site's cache is repaired.
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
    private final EntryTrust trust;
    /**
     * How long a removal stays in the cache: replays of the removed export are refused while it is there, and after
     * that a replayed export is older than that, so its lease lapsed long ago and it is never routed to.
     */
    private final Duration tombstoneLifespan;
    /** namespace/name → cluster → entry. */
    private final Map<String, Map<String, ExportedService>> byName = new ConcurrentHashMap<>();
    /** cache key → the newest version used here (exports and removals): what a replay is judged against. */
    private final Map<String, EntryVersion> versions = new ConcurrentHashMap<>();
    /**
     * cache key → digest of the value whose record is in use ({@link #versions}). A record refused on arrival stays
     * in this copy, possibly above the one in use (a forgery, say): {@link #purgeRevoked} judges only the value in
     * use.
     */
    private final Map<String, String> usedValues = new ConcurrentHashMap<>();
    private final Map<String, Instant> lastUpdateFrom = new ConcurrentHashMap<>();
    private final List<RegistryListener> listeners = new CopyOnWriteArrayList<>();
    private final IndexListener indexListener = new IndexListener();
    private final Refusals refusals = new Refusals();
    /** cache key → the value this registry is writing there right now (see {@link #cas}). */
    private final Map<String, String> writing = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicLong purgedRevoked = new java.util.concurrent.atomic.AtomicLong();
    /** Clusters whose entries {@link #purge} is removing here: their vanishing is no forgery. */
    private final Set<String> purging = ConcurrentHashMap.newKeySet();
    /** Rewrites own keys that a forger touched; never on a listener thread (it must not write to the cache). */
    private final ExecutorService repairs = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "isthmus-registry-repair");
        t.setDaemon(true);
        return t;
    });
    private final Set<ServiceKey> repairPending = ConcurrentHashMap.newKeySet();
    /** cluster → its newest heartbeat used here: what extends the leases of its entries (see {@link #leaseOf}). */
    private final Map<String, RegistryRecord.SiteHeartbeat> heartbeats = new ConcurrentHashMap<>();
    /**
     * How old an own entry's signature may grow before a heartbeat signs the entry again. Half of the window a site
     * heartbeat covers: each own entry is re-signed at least that often, whatever the churn.
     */
    private final Duration refreshAfter;
    /**
     * Until then (two leases after this registry started) every heartbeat round writes every own entry again, as
     * heartbeats did before site heartbeats: a gateway restarted with an empty cache must re-assert the entries that
     * come back to it from the other sites, or its first writes, made before they came back, may lose to them.
     */
    private final Instant reassertUntil;
    /** The issuing CA ({@link #issuerKey}) under which every own entry was last checked to be signed. */
    private volatile String signedUnderCa;

    /**
     * A registry that signs nothing, for a cache that is not replicated across sites (one process). A cache with
     * backup sites needs {@link #InfinispanRegistry(Cache, ClusterIdentity, Clock, EntryTrust)}.
     */
    public InfinispanRegistry(Cache<String, String> cache, ClusterIdentity identity, Clock clock) {
        this(cache, identity, clock, EntryTrust.unsignedLocal());
    }

    public InfinispanRegistry(Cache<String, String> cache, ClusterIdentity identity, Clock clock, EntryTrust trust) {
        if (!trust.signs() && !cache.getCacheConfiguration().sites().allBackups().isEmpty()) {
            throw new IllegalArgumentException("the registry cache " + cache.getName() + " is replicated to sites "
                    + cache.getCacheConfiguration().sites().allBackups().stream()
                            .map(org.infinispan.configuration.cache.BackupConfiguration::site).toList()
                    + ": its entries must be signed and verified; pass an EntryTrust that signs");
        }
        this.cache = cache;
        this.identity = identity;
        this.clock = clock;
        this.trust = trust;
        this.tombstoneLifespan = Duration.ofHours(1).compareTo(identity.lease().multipliedBy(10)) > 0 ? Duration.ofHours(1)
                : identity.lease().multipliedBy(10);
        this.refreshAfter = identity.lease().multipliedBy(5);
        this.reassertUntil = clock.instant().plus(identity.lease().multipliedBy(2));
        cache.addListener(indexListener);
        for (Map.Entry<String, String> e : cache.entrySet()) {
            changed(e.getKey(), e.getValue(), false);
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
        RegistryRecord.requireExportable(spec.key());
        // Every site, this one included, refuses a record that breaks these rules: say so to the source instead.
        ExportFields.check(build(spec, 0, clock.instant())).ifPresent(p -> {
            throw new IllegalArgumentException("cannot export " + Printable.escape(spec.key().toString()) + ": "
                    + p.message());
        });
        restart.readLock().lock();
        try {
            return write(spec);
        } finally {
            restart.readLock().unlock();
        }
    }

    private ExportedService write(ExportSpec spec) {
        String k = EntryCodec.key(spec.key());
        // Compare-and-set rather than cache.compute(): a compute function runs on the key's primary owner, which
        // may be another replica, and would have to be marshalled there. The revision comes from what this registry
        // used (never from the cache's raw value, which a forger may have written).
        while (true) {
            Instant now = clock.instant();
            String old = cache.get(k);
            ExportedService previous = get(spec.key()).orElse(null);
            EntryVersion held = versions.get(k);
            long revision;
            if (previous != null) {
                revision = sameContent(previous, build(spec, previous.revision(), now)) ? previous.revision()
                        : previous.revision() + 1;
            } else {
                revision = held == null ? 1 : held.revision() + 1;
            }
            ExportedService next = build(spec, revision, now);
            if (cas(k, old, seal(new RegistryRecord.Live(next, now)), null)) {
                return next;
            }
        }
    }

    private String seal(RegistryRecord record) {
        String json = EntryCodec.encodeRecord(record);
        return EntryCodec.envelope(json, trust.sign(json.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    private boolean cas(String k, String old, String value, Duration lifespan) {
        // The listener sees this write on this thread, before the put returns: it need not judge what we just signed.
        writing.put(k, value);
        try {
            return put(k, old, value, lifespan);
        } finally {
            writing.remove(k, value);
        }
    }

    private boolean put(String k, String old, String value, Duration lifespan) {
        if (old == null) {
            return (lifespan == null ? cache.putIfAbsent(k, value)
                    : cache.putIfAbsent(k, value, lifespan.toMillis(), TimeUnit.MILLISECONDS)) == null;
        }
        return lifespan == null ? cache.replace(k, old, value)
                : cache.replace(k, old, value, lifespan.toMillis(), TimeUnit.MILLISECONDS);
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

    /** Writes a signed removal (a tombstone), which replicates like an export; the key then reads as absent. */
    @Override
    public boolean unexport(ServiceKey key) {
        requireOwner(key);
        restart.readLock().lock();
        try {
            String k = EntryCodec.key(key);
            while (true) {
                ExportedService previous = get(key).orElse(null);
                if (previous == null) {
                    return false;
                }
                String old = cache.get(k);
                if (cas(k, old, seal(new RegistryRecord.Tombstone(key, previous.revision() + 1, clock.instant())),
                        tombstoneLifespan)) {
                    return true;
                }
            }
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

    /**
     * One signed site heartbeat renews the leases of all own entries; only the entries whose signature is older than
     * {@link #refreshAfter} are signed again (oldest first, at most a tenth of them per round, so a bulk export does not
     * come back as a burst). Then the heartbeat says which of them it covers: those signed since the oldest signature
     * among the entries this cluster holds now. Returns how many own entries the heartbeat covers.
     */
    private int renewAll() {
        Instant now = clock.instant();
        List<ExportedService> own = list(RegistryQuery.cluster(identity.cluster()));
        String ca = trust.currentSigner().map(InfinispanRegistry::issuerKey).orElse(null);
        List<ServiceKey> due = new ArrayList<>();
        if (now.isBefore(reassertUntil)) {
            // Shortly after start every own entry is written again (see reassertUntil), under the current signer.
            own.forEach(e -> rewrite(e.key()));
            signedUnderCa = ca;
        } else {
            // The signing CA changed (an intermediate or root rotation): every own entry signed under another CA is
            // signed again now, whatever its age, before that CA can leave the bundles and take the entries with it
            // (peers would refuse and purge them: the service would vanish mid-rotation).
            if (ca != null && !ca.equals(signedUnderCa)) {
                int resigned = 0;
                for (ExportedService e : own) {
                    if (!ca.equals(signerCaOf(e.key())) && rewrite(e.key())) {
                        resigned++;
                    }
                }
                if (signedUnderCa != null) {
                    LOG.infof("registry: this gateway now signs under another CA (authority key %s); %d of %d own "
                            + "entries signed again under it", ca, resigned, own.size());
                }
                signedUnderCa = ca;
            }
            for (ExportedService e : own) {
                if (signedAt(e.key()).map(at -> at.isBefore(now.minus(refreshAfter))).orElse(true)) {
                    due.add(e.key());
                }
            }
        }
        due.sort(Comparator.comparing((ServiceKey k) -> signedAt(k).orElse(Instant.MIN)));
        int budget = Math.max(100, own.size() / 10);
        for (ServiceKey k : due.subList(0, Math.min(due.size(), budget))) {
            rewrite(k);
        }
        writeHeartbeat(oldestOwnSignature(now));
        return list(RegistryQuery.cluster(identity.cluster())).size();
    }

    /** The CA that signed the signer of the record held under {@code key}: null when unsigned or unreadable. */
    private String signerCaOf(ServiceKey key) {
        String value = cache.get(EntryCodec.key(key));
        if (value == null) {
            return null;
        }
        try {
            return EntryCodec.parseValue(value).signature().map(s -> issuerKey(s.signer())).orElse(null);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * Names the CA that issued a signer's certificate: its authority key identifier, or its issuer name when it has
     * none. Entries are signed again when this changes for this gateway's own signer.
     */
    public static String issuerKey(java.security.cert.X509Certificate c) {
        byte[] aki = c.getExtensionValue("2.5.29.35");
        return aki != null ? java.util.HexFormat.of().formatHex(aki) : "dn:" + c.getIssuerX500Principal().getName();
    }

    /** The oldest signing instant among the entries this cluster exports now ({@code otherwise} when none). */
    private Instant oldestOwnSignature(Instant otherwise) {
        Instant oldest = otherwise;
        for (ExportedService e : list(RegistryQuery.cluster(identity.cluster()))) {
            Optional<Instant> at = signedAt(e.key());
            if (at.isPresent() && at.get().isBefore(oldest)) {
                oldest = at.get();
            }
        }
        return oldest;
    }

    private Optional<Instant> signedAt(ServiceKey key) {
        return Optional.ofNullable(versions.get(EntryCodec.key(key))).map(EntryVersion::signedAt);
    }

    private void writeHeartbeat(Instant coversSince) {
        String k = EntryCodec.key(RegistryRecord.heartbeatKey(identity.cluster()));
        while (true) {
            Instant now = clock.instant();
            String old = cache.get(k);
            Instant covers = coversSince.isAfter(now) ? now : coversSince;
            if (cas(k, old, seal(new RegistryRecord.SiteHeartbeat(identity.cluster(), now, covers)), null)) {
                return;
            }
        }
    }

    /**
     * The lease {@code e} runs on here: from its own signing, or from its owner's newest heartbeat when that heartbeat
     * covers the version of {@code e} held here (signed at or after the heartbeat's {@code coversSince}).
     */
    private ExportedService leaseOf(ExportedService e, Instant signed) {
        RegistryRecord.SiteHeartbeat hb = heartbeats.get(e.key().cluster());
        if (hb == null || signed.isBefore(hb.coversSince()) || !hb.signedAt().isAfter(e.heartbeat())) {
            return e;
        }
        return new ExportedService(e.key(), e.ports(), e.identities(), e.ingress(), e.locality(), e.readyEndpoints(),
                e.revision(), hb.signedAt(), e.lease());
    }

    /** A newer heartbeat of {@code cluster} was used: every entry of it that the heartbeat covers runs on from it. */
    private void extendLeases(String cluster, boolean notify) {
        Instant now = clock.instant();
        for (Map<String, ExportedService> perCluster : byName.values()) {
            ExportedService e = perCluster.get(cluster);
            if (e == null) {
                continue;
            }
            Optional<Instant> signed = signedAt(e.key());
            if (signed.isEmpty()) {
                continue;
            }
            ExportedService extended = leaseOf(e, signed.get());
            // Only if nothing replaced the entry meanwhile (a newer version is extended by its own apply).
            if (extended != e && perCluster.replace(cluster, e, extended) && notify && e.stale(now)
                    && !extended.stale(now)) {
                for (RegistryListener l : listeners) {
                    try {
                        l.exported(extended, e);
                    } catch (RuntimeException ex) {
                        LOG.warnf(ex, "registry listener %s failed on %s", l, e.key());
                    }
                }
            }
        }
    }

    /** Writes this cluster's record of {@code key} again, signed now: a heartbeat, or the repair of a forgery. */
    private boolean rewrite(ServiceKey key) {
        String k = EntryCodec.key(key);
        if (RegistryRecord.reserved(key)) {
            writeHeartbeat(oldestOwnSignature(clock.instant()));
            return false;
        }
        while (true) {
            Instant now = clock.instant();
            ExportedService prev = get(key).orElse(null);
            String old = cache.get(k);
            if (prev == null) {
                // Not exported (any more): a forger inserted the key, or undid our removal. Remove it, signed.
                EntryVersion removed = versions.get(k);
                long revision = removed == null ? 1 : removed.revision();
                if (cas(k, old, seal(new RegistryRecord.Tombstone(key, revision, now)), tombstoneLifespan)) {
                    return false;
                }
                continue;
            }
            ExportedService next = new ExportedService(prev.key(), prev.ports(), prev.identities(), prev.ingress(),
                    prev.locality(), prev.readyEndpoints(), prev.revision(), now, prev.lease());
            if (cas(k, old, seal(new RegistryRecord.Live(next, now)), null)) {
                return true;
            }
        }
    }

    private void repair(ServiceKey key) {
        if (!key.cluster().equals(identity.cluster()) || !repairPending.add(key)) {
            return;
        }
        try {
            repairs.execute(() -> {
                repairPending.remove(key);
                restart.readLock().lock();
                try {
                    rewrite(key);
                    LOG.infof("registry: wrote this cluster's own record of %s again after a forged change", key);
                } catch (RuntimeException e) {
                    LOG.warnf("registry: could not write %s again after a forged change (%s); the next heartbeat"
                            + " does", key, e.getMessage());
                } finally {
                    restart.readLock().unlock();
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            repairPending.remove(key);
        }
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
            int purged = purgeWhere(cluster, key -> true);
            lastUpdateFrom.remove(cluster);
            return purged;
        } finally {
            restart.readLock().unlock();
        }
    }

    /**
     * After the trust changed (a bundle lost a CA, a cluster left the membership, a gateway identity was dropped):
     * judges every other cluster's record held here again, and purges at once, from this node's copy only, each one
     * whose signer is no longer trusted. A revoked cluster's exports thus stop being routed to now, not when their
     * leases lapse. Returns how many entries were purged, by cluster. Call it off the event loop: it checks a
     * signature per entry.
     */
    public Map<String, Integer> purgeRevoked() {
        restart.readLock().lock();
        try {
            Map<String, Map.Entry<EntryRefusal, String>> why = new ConcurrentHashMap<>();
            var local = cache.getAdvancedCache().withFlags(org.infinispan.context.Flag.CACHE_MODE_LOCAL,
                    org.infinispan.context.Flag.SKIP_CACHE_LOAD);
            java.util.Set<ServiceKey> revoked = new java.util.HashSet<>();
            for (String k : new ArrayList<>(local.keySet())) {
                ServiceKey key = registryKey(k);
                String value = local.get(k);
                // Only what was used can be revoked. A record refused on arrival (its owner's bundle not fetched yet)
                // stays in this copy, so that the trust that arrives later can admit it (admitNowTrusted, which
                // verifies exactly those; this loop verifies only the used ones).
                if (key == null || value == null || key.cluster().equals(identity.cluster()) || !versions.containsKey(k)) {
                    continue;
                }
                // Nor may a record refused on arrival that lies above the one in use: judged here, a forgery signed
                // by someone untrusted (a compromised peer gateway's record for another cluster's key) read as a
                // revoked signer, and purged the genuine entry in use. The entry in use then lapses by its lease if
                // its own signer was revoked too.
                if (!digest(value).equals(usedValues.get(k))) {
                    continue;
                }
                EntryVerdict v;
                try {
                    v = trust.verify(k, EntryCodec.parseValue(value), Optional.empty(), Optional.empty());
                } catch (RuntimeException e) {
                    continue; // unreadable: never indexed in the first place
                }
                if (v instanceof EntryVerdict.Refused r && r.reason().trustRevoked()) {
                    revoked.add(key);
                    why.putIfAbsent(key.cluster(), Map.entry(r.reason(), r.message()));
                }
            }
            Map<String, Integer> purged = new java.util.TreeMap<>();
            for (String cluster : why.keySet()) {
                int n = purgeWhere(cluster, revoked::contains);
                purgedRevoked.addAndGet(n);
                purged.put(cluster, n);
                LOG.warnf("registry: purged %d entries of cluster %s at once: their signer is no longer trusted (%s: %s)",
                        n, cluster, why.get(cluster).getKey().label(), why.get(cluster).getValue());
            }
            return purged;
        } finally {
            restart.readLock().unlock();
        }
    }

    /**
     * After a trust change, uses the records held here that were refused when they arrived and verify now, judged as
     * on arrival (writer site, signature, signer under the owner's bundle in force). The case: a replica receives a
     * peer's entries (by cross-site replication, or from a sibling replica) before its own fetch of that peer's
     * bundle succeeded; without this, those entries stayed unused until their owner wrote them again. Returns how
     * many records of each cluster it used.
     */
    public Map<String, Integer> admitNowTrusted() {
        restart.readLock().lock();
        try {
            var local = cache.getAdvancedCache().withFlags(org.infinispan.context.Flag.CACHE_MODE_LOCAL,
                    org.infinispan.context.Flag.SKIP_CACHE_LOAD);
            Map<String, Integer> admitted = new java.util.TreeMap<>();
            for (String k : new ArrayList<>(local.keySet())) {
                ServiceKey key = registryKey(k);
                String value = local.get(k);
                if (key == null || value == null || key.cluster().equals(identity.cluster()) || versions.containsKey(k)) {
                    continue;
                }
                EntryVerdict v;
                try {
                    v = trust.verify(k, EntryCodec.parseValue(value), writerSite(k), Optional.empty());
                } catch (RuntimeException e) {
                    continue; // unreadable: refused on arrival, and still so
                }
                if (v instanceof EntryVerdict.Accepted a) {
                    apply(k, value, a.record(), true);
                    admitted.merge(key.cluster(), 1, Integer::sum);
                }
            }
            admitted.forEach((cluster, n) -> LOG.infof(
                    "registry: used %d record(s) of cluster %s refused on arrival: the trust in force now vouches for them",
                    n, cluster));
            return admitted;
        } finally {
            restart.readLock().unlock();
        }
    }

    /** Removes the matching keys of {@code cluster} from this node's copy (not replicated) and from the index. */
    private int purgeWhere(String cluster, java.util.function.Predicate<ServiceKey> which) {
        purging.add(cluster);
        try {
            var local = cache.getAdvancedCache().withFlags(org.infinispan.context.Flag.CACHE_MODE_LOCAL,
                    org.infinispan.context.Flag.SKIP_XSITE_BACKUP);
            int purged = 0;
            for (String k : new ArrayList<>(local.keySet())) {
                ServiceKey key = registryKey(k);
                if (key != null && key.cluster().equals(cluster) && which.test(key)) {
                    local.remove(k);
                    versions.remove(k);
                    usedValues.remove(k);
                    if (RegistryRecord.reserved(key)) {
                        heartbeats.remove(cluster);
                    }
                    ExportedService gone = unindex(key);
                    if (gone != null) {
                        purged++;
                        listeners.forEach(l -> l.unexported(gone));
                    }
                }
            }
            // Entries the index holds without the cache (kept through a restart) go too.
            for (ExportedService e : list(RegistryQuery.cluster(cluster))) {
                if (which.test(e.key()) && unindex(e.key()) != null) {
                    versions.remove(EntryCodec.key(e.key()));
                    usedValues.remove(EntryCodec.key(e.key()));
                    purged++;
                    listeners.forEach(l -> l.unexported(e));
                }
            }
            return purged;
        } finally {
            purging.remove(cluster);
        }
    }

    private static ServiceKey registryKey(String cacheKey) {
        try {
            return EntryCodec.parseKey(cacheKey);
        } catch (RuntimeException e) {
            return null; // not a registry key: not ours to judge
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
        repairs.shutdownNow();
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

    /** The site that wrote the entry's current version (empty when the cache is not replicated across sites). */
    private Optional<String> writerSite(String cacheKey) {
        org.infinispan.container.entries.CacheEntry<String, String> entry = cache.getAdvancedCache()
                .withFlags(org.infinispan.context.Flag.CACHE_MODE_LOCAL, org.infinispan.context.Flag.SKIP_CACHE_LOAD)
                .getCacheEntry(cacheKey);
        if (entry == null || entry.getInternalMetadata() == null || entry.getInternalMetadata().iracMetadata() == null) {
            return Optional.empty();
        }
        return Optional.of(entry.getInternalMetadata().iracMetadata().getSite());
    }

    /** The site that removed {@code cacheKey}, from the cross-site tombstone (empty when not known). */
    private Optional<String> removerSite(String cacheKey) {
        try {
            org.infinispan.container.versioning.irac.IracTombstoneManager tombstones = org.infinispan.factories
                    .ComponentRegistry.componentOf(cache, org.infinispan.container.versioning.irac.IracTombstoneManager.class);
            org.infinispan.metadata.impl.IracMetadata m = tombstones == null ? null : tombstones.getTombstone(cacheKey);
            return Optional.ofNullable(m == null ? null : m.getSite());
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Records received and not used, of every reason (see {@link #refusals(EntryRefusal)}). */
    public long refusedEntries() {
        return refusals.total();
    }

    /** Entries {@link #purgeRevoked} removed so far. */
    public long purgedRevoked() {
        return purgedRevoked.get();
    }

    /** The latest records refused here, oldest first (at most 1,000): which record, from which site, and why. */
    public List<RefusedRecord> refusedRecords() {
        return refusals.recent();
    }

    /** Records received and not used for {@code reason}. */
    public long refusals(EntryRefusal reason) {
        return refusals.count(reason);
    }

    private void changed(String cacheKey, String value, boolean notify) {
        ServiceKey key = registryKey(cacheKey);
        if (key == null || value == null) {
            return;
        }
        Optional<String> writer = writerSite(cacheKey);
        SignedRecord received;
        try {
            received = EntryCodec.parseValue(value);
        } catch (RuntimeException e) {
            refuse(writer, cacheKey, key, Optional.empty(), EntryRefusal.MALFORMED, "it is not a registry record ("
                    + e.getMessage() + ")");
            return;
        }
        if (value.equals(writing.get(cacheKey))) {
            apply(cacheKey, value, received.record(), notify);
            return;
        }
        EntryVerdict verdict;
        try {
            verdict = trust.verify(cacheKey, received, writer, Optional.ofNullable(versions.get(cacheKey)));
        } catch (RuntimeException e) {
            // A listener that throws fails the write that carried the record: a bad record must only be refused.
            verdict = new EntryVerdict.Refused(EntryRefusal.MALFORMED, "it could not be judged (" + e + ")");
        }
        if (verdict instanceof EntryVerdict.Refused r) {
            refuse(writer, cacheKey, key, Optional.of(received.record().version()), r.reason(), r.message());
            return;
        }
        apply(cacheKey, value, ((EntryVerdict.Accepted) verdict).record(), notify);
    }

    private void refuse(Optional<String> site, String cacheKey, ServiceKey key, Optional<EntryVersion> version,
            EntryRefusal reason, String message) {
        boolean own = key.cluster().equals(identity.cluster());
        // Never repair what this site wrote itself: if this gateway cannot verify its own records (its bundle or
        // gateway identity is misconfigured), rewriting would only be refused again, in a loop.
        boolean repair = own && !site.map(identity.cluster()::equals).orElse(false);
        refusals.refused(site.orElse("unknown"), cacheKey, version, reason, message, repair
                ? "this cluster's own record is written again, signed" : own
                        ? "written by this site itself: check this gateway's own bundle and gateway identity"
                        : get(key).isPresent() ? "the entry held here stays" : "nothing is used");
        if (repair) {
            repair(key);
        }
    }

    private static String digest(String value) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(value.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /**
     * Uses an accepted record ({@code value} is its text in the cache), unless a newer one of its key was used
     * meanwhile (replication reorders).
     */
    private void apply(String cacheKey, String value, RegistryRecord record, boolean notify) {
        ExportedService[] previous = new ExportedService[1];
        boolean[] used = new boolean[1];
        versions.compute(cacheKey, (k, held) -> {
            if (held != null && record.version().olderThan(held)) {
                return held;
            }
            used[0] = true;
            usedValues.put(k, digest(value));
            previous[0] = switch (record) {
                case RegistryRecord.Live live -> index(leaseOf(live.entry(), live.signedAt()));
                case RegistryRecord.Tombstone t -> unindex(t.key());
                case RegistryRecord.SiteHeartbeat h -> {
                    heartbeats.put(h.cluster(), h);
                    yield null;
                }
            };
            return record.version();
        });
        if (used[0] && record instanceof RegistryRecord.SiteHeartbeat h) {
            if (!h.cluster().equals(identity.cluster())) {
                lastUpdateFrom.put(h.cluster(), clock.instant());
            }
            extendLeases(h.cluster(), notify);
            return;
        }
        if (!used[0] || !notify) {
            return;
        }
        for (RegistryListener l : listeners) {
            try {
                switch (record) {
                    case RegistryRecord.Live live -> l.exported(live.entry(), previous[0]);
                    case RegistryRecord.Tombstone t -> {
                        if (previous[0] != null) {
                            l.unexported(previous[0]);
                        }
                    }
                    case RegistryRecord.SiteHeartbeat h -> {
                        // handled above
                    }
                }
            } catch (RuntimeException ex) {
                LOG.warnf(ex, "registry listener %s failed on %s", l, record.key());
            }
        }
    }

    /**
     * A key vanished from the cache. Its owner removes with a signed tombstone and never deletes, and a purge marks
     * its cluster first, so anything else is a forged removal: refused, and the index keeps what it held.
     */
    private void removed(String cacheKey, String oldValue) {
        ServiceKey key = registryKey(cacheKey);
        if (key == null || purging.contains(key.cluster())) {
            return;
        }
        if (oldValue != null) {
            try {
                if (EntryCodec.parseValue(oldValue).record() instanceof RegistryRecord.Tombstone) {
                    return; // a removal's own record went (its lifespan ended): nothing was exported
                }
            } catch (RuntimeException e) {
                return; // it was never used
            }
        }
        if (RegistryRecord.reserved(key) ? !heartbeats.containsKey(key.cluster()) : get(key).isEmpty()) {
            return;
        }
        refuse(removerSite(cacheKey), cacheKey, key, Optional.empty(), EntryRefusal.UNSIGNED_REMOVAL,
                "the key was deleted without a removal signed by cluster '" + key.cluster() + "'");
    }

    @Listener(observation = Listener.Observation.POST)
    public final class IndexListener {
        @CacheEntryCreated
        public void created(CacheEntryCreatedEvent<String, String> event) {
            changed(event.getKey(), event.getValue(), true);
        }

        @CacheEntryModified
        public void modified(CacheEntryModifiedEvent<String, String> event) {
            changed(event.getKey(), event.getNewValue(), true);
        }

        @CacheEntryRemoved
        public void removed(CacheEntryRemovedEvent<String, String> event) {
            InfinispanRegistry.this.removed(event.getKey(), event.getOldValue());
        }
    }
}
