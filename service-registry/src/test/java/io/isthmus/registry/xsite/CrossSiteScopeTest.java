package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;

import org.infinispan.configuration.cache.BackupConfiguration;
import org.infinispan.configuration.cache.CacheMode;
import org.infinispan.configuration.cache.Configuration;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.trust.spiffe.TrustDomain;

/** Which caches take requests from other sites: only those that back up to other sites (CrossSiteCacheScopeTest). */
class CrossSiteScopeTest {
    private static Configuration mode(CacheMode mode) {
        ConfigurationBuilder b = new ConfigurationBuilder();
        b.clustering().cacheMode(mode);
        return b.build();
    }

    private static Configuration registry(Map<String, PeerSite> peers) {
        SiteSettings settings = new SiteSettings("cluster-a", new TrustDomain("cluster-a.example"), "127.0.0.1", 0,
                List.of(), 0, peers);
        return RegistryNode.replicatedAcrossSites(settings, 3_000).build();
    }

    static Stream<Arguments> caches() {
        PeerSite b = new PeerSite("cluster-b", List.of(new InetSocketAddress("127.0.0.1", 7900)),
                new TrustDomain("cluster-b.example"));
        return Stream.of(
                Arguments.of("replicated among the replicas only", (Supplier<Configuration>) () -> mode(
                        CacheMode.REPL_SYNC), false),
                Arguments.of("distributed among the replicas only", (Supplier<Configuration>) () -> mode(
                        CacheMode.DIST_SYNC), false),
                Arguments.of("local", (Supplier<Configuration>) () -> mode(CacheMode.LOCAL), false),
                Arguments.of("the registry's, with a peer site", (Supplier<Configuration>) () -> registry(
                        Map.of("cluster-b", b)), true),
                Arguments.of("the registry's, with no peer site yet", (Supplier<Configuration>) () -> registry(
                        Map.of()), false),
                Arguments.of("a synchronous backup to one site", (Supplier<Configuration>) () -> {
                    ConfigurationBuilder c = new ConfigurationBuilder();
                    c.clustering().cacheMode(CacheMode.REPL_SYNC);
                    c.sites().addBackup().site("cluster-b").strategy(BackupConfiguration.BackupStrategy.SYNC);
                    return c.build();
                }, true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("caches")
    void onlyACacheWithBackupSitesTakesCrossSiteRequests(String cache, Supplier<Configuration> config,
            boolean accepts) {
        assertThat(CrossSiteScope.acceptsOtherSites(config.get())).as(cache).isEqualTo(accepts);
    }
}
