package io.isthmus.gateway.enrolment;

import java.util.List;

import org.infinispan.Cache;
import org.infinispan.configuration.cache.CacheMode;
import org.infinispan.conflict.MergePolicy;
import org.infinispan.partitionhandling.PartitionHandling;
import org.infinispan.configuration.cache.Configuration;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.manager.EmbeddedCacheManager;

/**
 * Defines the caches the enrolment state (and other state of this cluster's replicas) lives in, on the registry's
 * cache manager: replicated among this cluster's replicas only, never backed up to other sites ({@link
 * EnrolmentStores}).
 */
public final class EnrolmentCluster {
    /** Each VM agent's registration entries, set through the admin API and read by the agent (JSON per agent ID). */
    public static final String REGISTRATION_ENTRIES_CACHE = "isthmus-vm-registration-entries";

    private EnrolmentCluster() {
    }

    /**
     * The cache {@code name} on {@code manager}, defined on first use as replicated among this cluster's replicas only
     * (no backup sites) and held in memory; a manager without transport (a lone gateway) gets a local cache.
     */
    public static <K, V> Cache<K, V> replicatedInMemory(EmbeddedCacheManager manager, String name) {
        defineReplicatedInMemory(manager, name);
        return manager.getCache(name);
    }

    /** Defines, without starting it, the cache {@code name} as {@link #replicatedInMemory} does (idempotent). */
    public static void defineReplicatedInMemory(EmbeddedCacheManager manager, String name) {
        if (manager.getCacheConfiguration(name) == null) {
            ConfigurationBuilder b = new ConfigurationBuilder();
            b.clustering().cacheMode(manager.getCacheManagerConfiguration().isClustered() ? CacheMode.REPL_SYNC
                    : CacheMode.LOCAL);
            manager.defineConfiguration(name, b.build());
        }
    }

    /** Where the enrolment caches persist: under the data directory if {@code isthmus.enrolment.cluster.persistent}. */
    public static java.nio.file.Path storeDir(EnrolmentConfig config, io.isthmus.gateway.config.GatewayConfig gateway) {
        return config.cluster().persistent() ? gateway.dataDir().resolve("enrolment") : null;
    }

    /**
     * Defines, without starting them, the enrolment caches on {@code manager}: replicated when it is clustered
     * (idempotent). A clustered gateway defines them before it joins its cluster (RegistryService).
     */
    public static void defineCaches(EmbeddedCacheManager manager, java.nio.file.Path storeDir) {
        // Among this cluster's replicas only (no backup sites: each cluster has its own limit), in memory (a
        // restart of every replica at once forgets the buckets, which is at most one extra burst).
        defineReplicatedInMemory(manager, SharedRateLimiter.CACHE);
        for (String name : List.of(InfinispanJoinTokenStore.CACHE, InfinispanVmIdentityStore.CACHE,
                REGISTRATION_ENTRIES_CACHE)) {
            if (manager.getCacheConfiguration(name) != null) {
                continue;
            }
            ConfigurationBuilder b = new ConfigurationBuilder();
            // A shared manager without transport (registry disabled: a lone gateway) gets local caches.
            boolean clustered = manager.getCacheManagerConfiguration().isClustered();
            b.clustering().cacheMode(clustered ? CacheMode.REPL_SYNC : CacheMode.LOCAL);
            if (clustered && name.equals(InfinispanJoinTokenStore.CACHE)) {
                // A one-use token must be accepted once, even when the replicas are cut apart: a side that lost the
                // majority of the replicas refuses to read or write tokens (enrolment answers 503 store-unavailable)
                // until the partition heals. Only the majority side can have written, so its copy is kept.
                b.clustering().partitionHandling().whenSplit(PartitionHandling.DENY_READ_WRITES)
                        .mergePolicy(MergePolicy.PREFERRED_ALWAYS);
            } else if (clustered && name.equals(REGISTRATION_ENTRIES_CACHE)) {
                // Entries decide which workload gets which SVID: a side without a majority of the replicas serves the
                // entries it has (agents keep attesting) but changes none (503 store-unavailable), so only the
                // majority side can have written; at the merge each agent's newest copy wins (deletions are kept as
                // empty lists of a higher version). Before, both sides wrote, and the side coordinating the merge kept
                // its copy: a deletion made on the majority side came back.
                b.clustering().partitionHandling().whenSplit(PartitionHandling.ALLOW_READS)
                        .mergePolicy(io.isthmus.gateway.entries.NewestEntriesMerge.INSTANCE);
            } else if (clustered && name.equals(InfinispanVmIdentityStore.CACHE)) {
                // Renewal must go on while a replica is down, so both sides keep serving; when they merge again a
                // revocation made on either side wins (Infinispan's default kept one side's copy of the cache).
                b.clustering().partitionHandling().whenSplit(PartitionHandling.ALLOW_READ_WRITES)
                        .mergePolicy(RevocationWinsMerge.INSTANCE);
            }
            if (storeDir != null) {
                java.nio.file.Path dir = storeDir.toAbsolutePath().resolve(name);
                b.persistence().addSoftIndexFileStore().preload(true)
                        .dataLocation(dir.resolve("data").toString()).indexLocation(dir.resolve("index").toString());
            }
            Configuration config = b.build();
            manager.defineConfiguration(name, config);
        }
    }
}
