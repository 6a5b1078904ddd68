package io.isthmus.gateway.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

import org.infinispan.configuration.cache.CacheMode;
import org.infinispan.configuration.cache.Configuration;
import org.infinispan.configuration.global.GlobalConfigurationBuilder;
import org.infinispan.lifecycle.ComponentStatus;
import org.infinispan.manager.DefaultCacheManager;
import org.infinispan.partitionhandling.PartitionHandling;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What a clustered gateway defines before it joins its cluster (RegistryService passes {@link ClusterCaches#define}
 * to RegistryNode.start; CachesDefinedBeforeJoinTest in service-registry shows why: the coordinator takes a cache's
 * partition handling only from a definition it made before another replica started the cache). Every cache the
 * replicas share, with the partition handling and merge policy its feature gives it, and none started.
 */
class ClusterCachesTest {
    @TempDir
    Path dir;
    private DefaultCacheManager manager;

    @BeforeEach
    void define() {
        GlobalConfigurationBuilder global = GlobalConfigurationBuilder.defaultClusteredBuilder();
        global.transport().clusterName("cluster-caches-test");
        global.jmx().disable();
        manager = new DefaultCacheManager(global.build(), false);
        ClusterCaches.define(manager, dir.resolve("enrolment"), dir.resolve("vm-services"));
    }

    @AfterEach
    void stop() {
        manager.stop();
    }

    @ParameterizedTest(name = "{0}: {1}, merge {2}")
    @CsvSource(delimiter = '|', textBlock = """
            isthmus-join-tokens             | DENY_READ_WRITES  | PREFERRED_ALWAYS    | true
            isthmus-vm-identities           | ALLOW_READ_WRITES | RevocationWinsMerge | true
            isthmus-vm-registration-entries | ALLOW_READS       | NewestEntriesMerge  | true
            isthmus-enrolment-rate          | ALLOW_READ_WRITES |                     | false
            isthmus-jwt-replica-keys        | ALLOW_READ_WRITES | NewestReplicaKeys   | false
            isthmus-jwt-rotation            | ALLOW_READS       | NewestRecordMerge   | false
            isthmus-vm-services             | ALLOW_READ_WRITES |                     | true
            """)
    void everySharedCacheIsDefinedReplicatedWithItsPartitionHandlingBeforeTheNodeStarts(String name,
            PartitionHandling whenSplit, String mergePolicy, boolean persisted) {
        assertThat(manager.getStatus()).isEqualTo(ComponentStatus.INSTANTIATED);
        Configuration c = manager.getCacheConfiguration(name);
        assertThat(c).as(name + " defined").isNotNull();
        assertThat(c.clustering().cacheMode()).isEqualTo(CacheMode.REPL_SYNC);
        assertThat(c.clustering().partitionHandling().whenSplit()).isEqualTo(whenSplit);
        if (mergePolicy != null) {
            // The enrolment and JWT policies are ChosenCopyMerge instances; only Infinispan's own is named.
            assertThat(c.clustering().partitionHandling().mergePolicy()).as("merge policy").isNotNull();
            if (mergePolicy.equals("PREFERRED_ALWAYS")) {
                assertThat(String.valueOf(c.clustering().partitionHandling().mergePolicy())).isEqualTo(mergePolicy);
            }
        }
        assertThat(c.persistence().usingStores()).as("persisted").isEqualTo(persisted);
        assertThat(manager.isRunning(name)).as(name + " started").isFalse();
    }
}
