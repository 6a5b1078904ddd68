package io.isthmus.registry.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.infinispan.Cache;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.isthmus.registry.ClusterIdentity;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.Locality;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.RegistryListener;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.store.InfinispanRegistry;

/**
 * Two gateway replicas of one cluster, each with its own API client to the fabric8 mock server in CRUD mode (real
 * HTTP; the Lease is a real coordination.k8s.io/v1 object there) and its own view of the site's registry cache. Only
 * the Lease holder writes; when it dies without releasing the Lease, the other takes over once the Lease lapses,
 * and no export flaps.
 */
@EnableKubernetesMockClient(crud = true)
// The handover timing test first: under heavy machine load it once lost its leader's renewals (a 3 s stall) after the
// other tests had run in the same JVM, and passed alone; its Lease timings are tight by design.
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ExportLeadershipTest {
    private static final Duration LEASE = Duration.ofSeconds(4);
    private static final Duration RENEW = Duration.ofSeconds(3);
    private static final Duration RETRY = Duration.ofMillis(500);
    static KubernetesClient client;
    static KubernetesMockServer server;

    private final DefaultCacheManager cm = new DefaultCacheManager();
    /** One Lease per test (the mock server is shared by the class): no test starts from another's Lease. */
    private final String lease = "isthmus-registry-cluster-a-" + Long.toHexString(System.nanoTime());
    private final List<AutoCloseable> closing = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closing.reversed()) {
            c.close();
        }
        cm.stop();
    }

    private InfinispanRegistry replicaRegistry(Cache<String, String> siteCache) {
        InfinispanRegistry r = new InfinispanRegistry(siteCache, new ClusterIdentity("cluster-a",
                new IngressAddress("a.gw.example", 15443), Locality.UNKNOWN, Duration.ofSeconds(30),
                MeshName.DEFAULT_SUFFIX), Clock.systemUTC());
        closing.add(r);
        return r;
    }

    private ExportLeadership replica(String name, KubernetesClient own, InfinispanRegistry registry) {
        ExportLeadership l = new ExportLeadership(own, new ExportLeadership.Settings("isthmus-system",
                lease, name, LEASE, RENEW, RETRY), () -> {
                    KubernetesExportSource source = new KubernetesExportSource(own, registry);
                    return ExportLeadership.LeaderWork.of(source::start, source::close);
                });
        closing.add(l);
        return l;
    }

    private static void export(String ns, String name) {
        client.services().inNamespace(ns).resource(new ServiceBuilder().withNewMetadata().withNamespace(ns).withName(name)
                .endMetadata().withNewSpec().addNewPort().withName("http").withPort(8080).endPort().endSpec().build()).create();
        client.genericKubernetesResources(McsResources.SERVICE_EXPORT).inNamespace(ns).resource(
                new GenericKubernetesResourceBuilder().withApiVersion(McsResources.API_VERSION).withKind("ServiceExport")
                        .withNewMetadata().withNamespace(ns).withName(name).endMetadata().build()).create();
    }

    private String holder() {
        Lease l = client.leases().inNamespace("isthmus-system").withName(lease).get();
        return l == null ? "" : l.getSpec().getHolderIdentity();
    }

    @Test
    @Order(1)
    void aKilledLeaderIsReplacedWithinTheLeaseDurationAndNoExportFlaps() {
        cm.defineConfiguration("registry", new ConfigurationBuilder().build());
        Cache<String, String> site = cm.getCache("registry");
        InfinispanRegistry atFirst = replicaRegistry(site);
        InfinispanRegistry atSecond = replicaRegistry(site);
        ServiceKey cart = new ServiceKey("cluster-a", "shop", "cart");
        export("shop", "cart");

        KubernetesClient firstsClient = server.createClient();
        ExportLeadership first = replica("gateway-0", firstsClient, atFirst);
        first.start();
        await().atMost(Duration.ofSeconds(20)).until(first::leading);
        ExportLeadership second = replica("gateway-1", server.createClient(), atSecond);
        second.start();
        await().atMost(Duration.ofSeconds(20)).until(() -> atSecond.get(cart).isPresent());
        ExportedService before = atSecond.get(cart).orElseThrow();
        // One writer: across more than a renewal, the Lease stays with the first and the second does not lead.
        await().during(RENEW.plus(RETRY)).atMost(RENEW.plus(RETRY).plusSeconds(10))
                .until(() -> "gateway-0".equals(holder()) && !second.leading());
        assertThat(second.leading()).isFalse();
        assertThat(second.leader()).isEqualTo("gateway-0");

        List<String> flaps = new CopyOnWriteArrayList<>();
        atSecond.addListener(new RegistryListener() {
            @Override
            public void exported(ExportedService current, ExportedService previous) {
                if (previous != null && current.revision() != previous.revision()) {
                    flaps.add("revision of " + current.key() + " " + previous.revision() + " -> " + current.revision());
                }
            }

            @Override
            public void unexported(ExportedService previous) {
                flaps.add("unexported " + previous.key());
            }
        });

        // The leader dies: its connections to the API server go, it never releases the Lease.
        long killed = System.nanoTime();
        firstsClient.close();
        first.close(); // the process is gone: its source stops; the Lease cannot be released over a closed client
        assertThat(first.leading()).isFalse();
        await().atMost(LEASE.plus(RETRY.multipliedBy(2)).plusSeconds(10)).until(() -> "gateway-1".equals(holder()));
        Duration takeover = Duration.ofNanos(System.nanoTime() - killed);
        await().atMost(Duration.ofSeconds(10)).until(second::leading);
        System.out.printf("takeover %d ms after the leader died (lease %d ms, retry %d ms)%n", takeover.toMillis(),
                LEASE.toMillis(), RETRY.toMillis());
        // The Lease lapses LEASE after the dead leader's last renewal (at most RETRY before it died); the follower
        // notices at its next retry (jittered up to 1.2 x RETRY).
        assertThat(takeover).isLessThanOrEqualTo(LEASE.plus(RETRY.multipliedBy(3)));

        // The new leader's startup sweep re-exported cart unchanged, and it now writes: a new export appears.
        export("shop", "ledger");
        await().atMost(Duration.ofSeconds(20)).until(() -> atSecond.get(new ServiceKey("cluster-a", "shop", "ledger"))
                .isPresent());
        assertThat(atSecond.get(cart)).hasValueSatisfying(e -> assertThat(e.revision()).isEqualTo(before.revision()));
        assertThat(flaps).isEmpty();
    }

    @Test
    void aRestartedReplicaTakesOverItsOwnDeadLeaseAtOnce() {
        // Only the Lease matters here: no export source, so the "crashed" replica's stop is instant and the Lease it
        // leaves is still valid when its successor starts.
        KubernetesClient crashedClient = server.createClient();
        ExportLeadership crashed = closing(new ExportLeadership(crashedClient, settings("gw-host:/var/lib/isthmus"),
                () -> ExportLeadership.LeaderWork.of(() -> { }, () -> { })));
        crashed.start();
        await().atMost(Duration.ofSeconds(20)).until(crashed::leading);
        // kill -9: the process and its connections are gone, the Lease is not released.
        crashedClient.close();
        crashed.close();
        Lease dead = client.leases().inNamespace("isthmus-system").withName(lease).get();
        assertThat(dead.getSpec().getHolderIdentity()).isEqualTo("gw-host:/var/lib/isthmus");
        java.time.Instant lapses = dead.getSpec().getRenewTime().toInstant().plus(LEASE);

        long restarted = System.nanoTime();
        ExportLeadership again = closing(new ExportLeadership(server.createClient(), settings("gw-host:/var/lib/isthmus"),
                () -> ExportLeadership.LeaderWork.of(() -> { }, () -> { })));
        again.start();
        await().atMost(LEASE.plusSeconds(10)).until(again::leading);
        java.time.Instant led = java.time.Instant.now();
        System.out.printf("own Lease taken over %d ms after the restart, %d ms before it would have lapsed (lease %d ms,"
                + " watch %d ms)%n", Duration.ofNanos(System.nanoTime() - restarted).toMillis(),
                Duration.between(led, lapses).toMillis(), LEASE.toMillis(), OwnLease.watchFor(RETRY).toMillis());
        // Not a wait for the Lease to lapse: one watch of it, then the first acquire succeeds.
        assertThat(led).isBefore(lapses);
    }

    private ExportLeadership.Settings settings(String identity) {
        return new ExportLeadership.Settings("isthmus-system", lease, identity, LEASE, RENEW, RETRY);
    }

    private ExportLeadership closing(ExportLeadership l) {
        closing.add(l);
        return l;
    }

    @Test
    void aSecondLiveProcessWithTheSameIdentityDoesNotWrite() {
        cm.defineConfiguration("registry", new ConfigurationBuilder().build());
        InfinispanRegistry registry = replicaRegistry(cm.getCache("registry"));
        ExportLeadership first = replica("gw-host:/var/lib/isthmus", server.createClient(), registry);
        first.start();
        await().atMost(Duration.ofSeconds(20)).until(first::leading);

        ExportLeadership twin = replica("gw-host:/var/lib/isthmus", server.createClient(), registry);
        twin.start();
        // fabric8 alone would call the twin leader at its first acquire: same holder identity.
        await().during(LEASE.plus(RETRY)).atMost(LEASE.plus(RETRY).plusSeconds(10))
                .until(() -> first.leading() && !twin.leading());
        assertThat(twin.leading()).isFalse();

        // Once the first stops cleanly (releasing the Lease), the other process may lead: it stood by, not out.
        first.close();
        await().atMost(LEASE.plus(RETRY.multipliedBy(3)).plusSeconds(10)).until(twin::leading);
    }
}
