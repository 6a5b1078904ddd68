package io.isthmus.gateway.jwt.rotation;

import java.util.Optional;

import org.infinispan.Cache;
import org.infinispan.configuration.cache.CacheMode;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.partitionhandling.AvailabilityException;
import org.infinispan.partitionhandling.PartitionHandling;
import org.infinispan.notifications.Listener;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryCreated;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryModified;
import org.infinispan.notifications.cachelistener.event.CacheEntryEvent;

import io.isthmus.gateway.enrolment.EnrolmentCluster;
import io.isthmus.gateway.enrolment.ReplicaAvailability;

/**
 * The cluster's recorded JWT rotation step, in a cache replicated among this cluster's replicas only (the same cache
 * manager as the replica keys; never backed up across sites). One entry, the latest signed record: replicas that
 * start or rejoin get it by state transfer and catch up. A write is a compare-and-set, so two admin calls answered
 * by two replicas at once cannot both record the same generation.
 *
 * <p>A replica that does not see a majority of the cluster's replicas (a partition) reads the record but records
 * no step ({@link ReadOnlyException}); when the partition heals the newest record is kept on every replica
 * ({@link NewestRecordMerge}). Before, both sides recorded steps and the merge kept the coordinating side's copy: with
 * two replicas cut apart, a retire recorded on one side was undone, and its retired key was published again.
 * Thread-safe.
 */
@Listener(sync = false)
public final class RotationChannel implements AutoCloseable {
    static final String CACHE = "isthmus-jwt-rotation";
    private static final String KEY = "step";

    private final Cache<String, String> cache;
    private final Runnable onChange;

    /** @param onChange called (on an Infinispan thread; must not block) whenever the record changes */
    public RotationChannel(EmbeddedCacheManager manager, Runnable onChange) {
        defineCache(manager);
        this.cache = EnrolmentCluster.replicatedInMemory(manager, CACHE);
        this.onChange = onChange;
        ReplicaAvailability.watchRotation(cache);
        cache.addListener(this);
    }

    /** Defines the rotation record's cache, without starting it (idempotent). */
    public static void defineCache(EmbeddedCacheManager manager) {
        if (manager.getCacheConfiguration(CACHE) == null && manager.getCacheManagerConfiguration().isClustered()) {
            ConfigurationBuilder b = new ConfigurationBuilder();
            b.clustering().cacheMode(CacheMode.REPL_SYNC).partitionHandling().whenSplit(PartitionHandling.ALLOW_READS)
                    .mergePolicy(NewestRecordMerge.INSTANCE);
            manager.defineConfiguration(CACHE, b.build());
        }
    }

    /** The signed record as stored (not yet judged: see {@link RecordAdmission}). */
    public Optional<String> read() {
        return Optional.ofNullable(cache.get(KEY));
    }

    /** False once the cache manager stops (the gateway is stopping): nothing to apply any more. */
    public boolean open() {
        return cache.getStatus().allowInvocations();
    }

    /**
     * Stores {@code next} if the entry is still {@code expected}; false when another write came first.
     *
     * @throws ReadOnlyException when this replica does not see a majority of the cluster's replicas
     */
    public boolean write(Optional<String> expected, String next) throws ReadOnlyException {
        // Checked before writing, as the registration entries are: Infinispan would also refuse, logging an ERROR.
        if (cache.getAdvancedCache().getAvailability() != org.infinispan.partitionhandling.AvailabilityMode.AVAILABLE) {
            throw new ReadOnlyException(cache.getCacheManager().getMembers());
        }
        try {
            return expected.isEmpty() ? cache.putIfAbsent(KEY, next) == null : cache.replace(KEY, expected.get(), next);
        } catch (AvailabilityException e) {
            throw new ReadOnlyException(cache.getCacheManager().getMembers());
        }
    }

    /** No step can be recorded on this replica now: it does not see a majority of the cluster's replicas. */
    public static final class ReadOnlyException extends java.io.IOException {
        private static final long serialVersionUID = 1L;

        ReadOnlyException(Object members) {
            super("this replica sees only the replicas " + members + ", not a majority of the cluster's replicas (a "
                    + "partition, or a replica that stopped without leaving), so it records no JWT rotation step: a "
                    + "step recorded on a side that was cut off could undo the other side's steps when they merge; "
                    + "ask a replica of the majority, or again once the replicas see each other");
        }
    }

    @CacheEntryCreated
    @CacheEntryModified
    public void changed(CacheEntryEvent<String, String> event) {
        if (!event.isPre()) {
            onChange.run();
        }
    }

    @Override
    public void close() {
        try {
            cache.removeListener(this);
        } catch (RuntimeException e) {
            // the cache manager is stopping already: nothing to unhook
        }
    }
}
