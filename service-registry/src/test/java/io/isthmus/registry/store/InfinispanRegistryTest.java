package io.isthmus.registry.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.isthmus.registry.ClusterIdentity;
import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.LeaseKeeper;
import io.isthmus.registry.Locality;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.RegistryListener;
import io.isthmus.registry.RegistryQuery;
import io.isthmus.registry.RegistryResolver;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.testing.MutableClock;

/** Registry semantics on a local (single-node) cache with a controlled clock: revisions, leases, resolution. */
class InfinispanRegistryTest {
    private final MutableClock clock = MutableClock.now();
    private final DefaultCacheManager cm = localCacheManager();
    private final ClusterIdentity identity = new ClusterIdentity("cluster-a", new IngressAddress("a.gw.example", 15443),
            new Locality("eu-west", "eu-west-1a"), Duration.ofSeconds(30), MeshName.DEFAULT_SUFFIX);
    private final InfinispanRegistry registry = new InfinispanRegistry(cm.<String, String>getCache("registry"), identity, clock);

    private static DefaultCacheManager localCacheManager() {
        DefaultCacheManager m = new DefaultCacheManager();
        m.defineConfiguration("registry", new org.infinispan.configuration.cache.ConfigurationBuilder().build());
        return m;
    }

    @AfterEach
    void close() {
        registry.close();
        cm.stop();
    }

    private static ExportSpec spec(int ready) {
        return new ExportSpec(new ServiceKey("cluster-a", "billing", "payments"),
                List.of(new ServicePort("grpc", 9090, Protocol.GRPC), new ServicePort("http", 8080, Protocol.HTTP)),
                List.of(SpiffeId.parse("spiffe://cluster-a.acme.internal/ns/billing/sa/payments")), ready);
    }

    @Test
    void encodesEveryFieldAndDecodesItBack() {
        ExportedService e = registry.export(spec(2));
        assertThat(EntryCodec.decode(EntryCodec.encode(e))).isEqualTo(e);
        assertThat(EntryCodec.parseKey(EntryCodec.key(e.key()))).isEqualTo(e.key());
    }

    @Test
    void revisionGrowsOnlyWhenContentChanges() {
        assertThat(registry.export(spec(2)).revision()).isEqualTo(1);
        clock.advance(Duration.ofSeconds(5));
        ExportedService same = registry.export(spec(2));
        assertThat(same.revision()).isEqualTo(1);
        assertThat(same.heartbeat()).isEqualTo(clock.instant());
        assertThat(registry.export(spec(0)).revision()).isEqualTo(2);
    }

    @Test
    void lapsedLeaseKeepsTheEntryVisibleButUnroutableUntilTheNextHeartbeat() {
        RegistryResolver resolver = new RegistryResolver(registry, clock);
        MeshName name = MeshName.of("payments", "billing");
        registry.export(spec(2));
        assertThat(resolver.resolve(name, Locality.UNKNOWN)).hasSize(1);

        clock.advance(Duration.ofSeconds(31));
        assertThat(resolver.resolve(name, Locality.UNKNOWN)).isEmpty();
        assertThat(registry.list(new RegistryQuery(Optional.empty(), Optional.empty(), Optional.of(true)))).hasSize(1);
        LeaseKeeper keeper = new LeaseKeeper(registry, clock);
        assertThat(registry.exportsOf(name)).singleElement().satisfies(e -> assertThat(e.stale(clock.instant())).isTrue());

        keeper.tick();
        assertThat(keeper.staleEntries()).isZero();
        assertThat(resolver.resolve(name, Locality.UNKNOWN)).hasSize(1);
        assertThat(registry.list(new RegistryQuery(Optional.of("billing"), Optional.of("cluster-a"), Optional.of(false)))).hasSize(1);
        assertThat(registry.list(new RegistryQuery(Optional.of("other"), Optional.empty(), Optional.empty()))).isEmpty();
    }

    @Test
    void noReadyEndpointsMeansNotRoutable() {
        registry.export(spec(0));
        assertThat(new RegistryResolver(registry, clock).resolve(MeshName.of("payments", "billing"), Locality.UNKNOWN)).isEmpty();
    }

    @Test
    void withTheFederationsClustersOnlyTheirExportsAreOfferedAndEachNamesItsTrustDomain() {
        registry.export(spec(2));
        MeshName name = MeshName.of("payments", "billing");
        RegistryResolver known = new RegistryResolver(registry, clock,
                java.util.Map.of("cluster-a", new io.isthmus.trust.spiffe.TrustDomain("cluster-a.acme.internal")));
        assertThat(known.resolve(name, Locality.UNKNOWN)).hasSize(1);
        assertThat(known.trustDomainOf("cluster-a")).contains(new io.isthmus.trust.spiffe.TrustDomain("cluster-a.acme.internal"));
        assertThat(known.trustDomainOf("cluster-x")).isEmpty();

        RegistryResolver other = new RegistryResolver(registry, clock,
                java.util.Map.of("cluster-b", new io.isthmus.trust.spiffe.TrustDomain("cluster-b.acme.internal")));
        assertThat(other.resolve(name, Locality.UNKNOWN)).as("cluster-a is not a configured cluster").isEmpty();
        assertThat(new RegistryResolver(registry, clock).trustDomainOf("cluster-a")).as("no pinning").isEmpty();
    }

    @Test
    void listenersHearExportsUpdatesAndUnexports() {
        List<String> events = new CopyOnWriteArrayList<>();
        registry.addListener(new RegistryListener() {
            @Override
            public void exported(ExportedService current, ExportedService previous) {
                events.add((previous == null ? "created " : "updated ") + current.key() + "@" + current.revision());
            }

            @Override
            public void unexported(ExportedService previous) {
                events.add("removed " + previous.key());
            }
        });
        registry.export(spec(1));
        registry.export(spec(3));
        registry.unexport(spec(1).key());
        assertThat(events).containsExactly("created cluster-a/billing/payments@1", "updated cluster-a/billing/payments@2",
                "removed cluster-a/billing/payments");
        assertThat(registry.get(spec(1).key())).isEmpty();
    }
}
