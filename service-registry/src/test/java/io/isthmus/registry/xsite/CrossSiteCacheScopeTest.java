package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Clock;
import java.time.Duration;
import java.util.List;

import org.infinispan.Cache;
import org.infinispan.configuration.cache.BackupConfiguration;
import org.infinispan.configuration.cache.CacheMode;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.registry.testing.TestFederation;
import io.isthmus.registry.testing.TestFederation.Site;

/**
 * A peer site reaches only the caches this site backs up to it. Other features keep caches on the registry's cache
 * manager that are replicated among this cluster's replicas only, and not every entry in them is signed (the
 * replicas' public JWT keys, which the bundle publishes; join tokens; VM identities). Infinispan hands a cross-site
 * write to any clustered local cache of the name the sender gives, whether or not that cache has backups. So a peer
 * (its gateway, or any workload of its trust domain that the bridge admits) that defines a cache of the same name with
 * a backup to us, and writes to it, wrote into ours: it could publish a JWT key in our bundle.
 */
class CrossSiteCacheScopeTest {
    private static final Duration DEADLINE = Duration.ofSeconds(30);
    private static final String REPLICA_ONLY = "isthmus-jwt-replica-keys";
    private final TestFederation federation = new TestFederation(Clock.systemUTC(), "cluster-a", "cluster-b");

    @AfterEach
    void close() {
        federation.close();
    }

    @Test
    void aPeerSiteCannotWriteACacheThatIsReplicatedAmongOurReplicasOnly() {
        Site a = federation.start("cluster-a");
        Site b = federation.start("cluster-b");
        ConfigurationBuilder replicasOnly = new ConfigurationBuilder();
        replicasOnly.clustering().cacheMode(CacheMode.REPL_SYNC);
        a.node().cacheManager().defineConfiguration(REPLICA_ONLY, replicasOnly.build());
        Cache<String, String> ours = a.node().cacheManager().getCache(REPLICA_ONLY);
        ours.put("own-replica", "genuine");

        // The attacker's side: the same name, backed up to cluster-a.
        ConfigurationBuilder forging = new ConfigurationBuilder();
        forging.clustering().cacheMode(CacheMode.REPL_SYNC);
        forging.sites().addBackup().site("cluster-a").strategy(BackupConfiguration.BackupStrategy.ASYNC);
        b.node().cacheManager().defineConfiguration(REPLICA_ONLY, forging.build());
        Cache<String, String> theirs = b.node().cacheManager().getCache(REPLICA_ONLY);

        // The bridge works: an export of cluster-b reaches cluster-a.
        ExportedService search = b.registry().export(new ExportSpec(new ServiceKey("cluster-b", "billing", "search"),
                List.of(new ServicePort("http", 8080, Protocol.HTTP)), List.of(), 1));
        await().atMost(DEADLINE).until(() -> a.registry().get(search.key()).isPresent());

        theirs.put("forged-replica", "attacker's key");
        theirs.put("own-replica", "overwritten");
        theirs.remove("own-replica");
        // The same write to the registry cache still replicates (a control that the sender's backups run).
        ExportedService later = b.registry().export(new ExportSpec(new ServiceKey("cluster-b", "billing", "later"),
                List.of(new ServicePort("http", 8080, Protocol.HTTP)), List.of(), 1));
        await().atMost(DEADLINE).until(() -> a.registry().get(later.key()).isPresent());
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(ours.get("forged-replica")).isNull();
            assertThat(ours.get("own-replica")).isEqualTo("genuine");
        });
    }
}
