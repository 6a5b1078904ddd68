package io.isthmus.registry.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;

import org.infinispan.Cache;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.isthmus.registry.ClusterIdentity;
import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.Locality;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.RegistryResolver;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.registry.store.EntryCodec;
import io.isthmus.registry.store.InfinispanRegistry;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.testing.LogCapture;

/**
 * The Kubernetes source against the fabric8 mock API server in CRUD mode (real HTTP, real watches): exports
 * follow ServiceExport + Service + EndpointSlice; other clusters' exports become ServiceImports.
 */
@EnableKubernetesMockClient(crud = true)
class KubernetesSourceTest {
    private static final Duration DEADLINE = Duration.ofSeconds(20);
    static KubernetesClient client;
    static KubernetesMockServer server;

    private final DefaultCacheManager cm = new DefaultCacheManager();
    private Cache<String, String> cache;
    private InfinispanRegistry registry;
    private KubernetesExportSource source;
    private ServiceImportWriter imports;

    @BeforeEach
    void setUp() {
        cm.defineConfiguration("registry", new ConfigurationBuilder().build());
        cache = cm.getCache("registry");
        registry = new InfinispanRegistry(cache, new ClusterIdentity("cluster-a", new IngressAddress("a.gw.example", 15443),
                Locality.UNKNOWN, Duration.ofSeconds(30), MeshName.DEFAULT_SUFFIX), Clock.systemUTC());
        source = new KubernetesExportSource(client, registry);
        imports = new ServiceImportWriter(client, registry);
    }

    @AfterEach
    void tearDown() {
        source.close();
        imports.close();
        registry.close();
        cm.stop();
    }

    private void createService(String ns, String name) {
        client.services().inNamespace(ns).resource(new ServiceBuilder().withNewMetadata().withNamespace(ns).withName(name)
                .endMetadata().withNewSpec()
                .addNewPort().withName("http").withPort(8080).withProtocol("TCP").endPort()
                .addNewPort().withName("grpc-api").withPort(9090).withProtocol("TCP").endPort()
                .addNewPort().withName("metrics").withPort(9100).withProtocol("TCP").withAppProtocol("http2").endPort()
                .endSpec().build()).create();
    }

    private void putSlice(String ns, String service, boolean... ready) {
        EndpointSliceBuilder b = new EndpointSliceBuilder().withNewMetadata().withNamespace(ns).withName(service + "-abc")
                .addToLabels(McsResources.SERVICE_NAME_LABEL, service).endMetadata().withAddressType("IPv4");
        for (int i = 0; i < ready.length; i++) {
            b.addNewEndpoint().withAddresses("10.0.0." + (i + 1)).withNewConditions().withReady(ready[i]).endConditions().endEndpoint();
        }
        EndpointSlice slice = b.build();
        client.discovery().v1().endpointSlices().inNamespace(ns).resource(slice).createOr(op -> op.update());
    }

    private static GenericKubernetesResource serviceExport(String ns, String name) {
        return new GenericKubernetesResourceBuilder().withApiVersion(McsResources.API_VERSION).withKind("ServiceExport")
                .withNewMetadata().withNamespace(ns).withName(name)
                .addToAnnotations(McsResources.IDENTITIES_ANNOTATION, "spiffe://cluster-a.acme.internal/ns/" + ns + "/sa/" + name)
                .endMetadata().build();
    }

    private GenericKubernetesResource serviceImport(String ns, String name) {
        return client.genericKubernetesResources(McsResources.SERVICE_IMPORT).inNamespace(ns).withName(name).get();
    }

    @Test
    void exportFollowsServiceExportServiceAndEndpointSlices() {
        createService("billing", "payments");
        putSlice("billing", "payments", true, true, false);
        source.start();
        ServiceKey key = new ServiceKey("cluster-a", "billing", "payments");
        assertThat(registry.get(key)).as("no ServiceExport yet").isEmpty();

        client.genericKubernetesResources(McsResources.SERVICE_EXPORT).inNamespace("billing")
                .resource(serviceExport("billing", "payments")).create();
        await().atMost(DEADLINE).untilAsserted(() -> assertThat(registry.get(key)).hasValueSatisfying(e -> {
            assertThat(e.ports()).containsExactly(new ServicePort("http", 8080, Protocol.HTTP),
                    new ServicePort("grpc-api", 9090, Protocol.GRPC), new ServicePort("metrics", 9100, Protocol.HTTP2));
            assertThat(e.readyEndpoints()).isEqualTo(2);
            assertThat(e.identities()).containsExactly(SpiffeId.parse("spiffe://cluster-a.acme.internal/ns/billing/sa/payments"));
        }));
        RegistryResolver resolver = new RegistryResolver(registry, Clock.systemUTC());
        assertThat(resolver.resolve(MeshName.of("payments", "billing"), Locality.UNKNOWN)).hasSize(1);

        putSlice("billing", "payments", false, false, false);
        await().atMost(DEADLINE).untilAsserted(() ->
                assertThat(registry.get(key)).hasValueSatisfying(e -> assertThat(e.readyEndpoints()).isZero()));
        assertThat(resolver.resolve(MeshName.of("payments", "billing"), Locality.UNKNOWN)).as("not ready, not routed").isEmpty();

        client.genericKubernetesResources(McsResources.SERVICE_EXPORT).inNamespace("billing").withName("payments").delete();
        await().atMost(DEADLINE).until(() -> registry.get(key).isEmpty());
    }

    @Test
    void startupSweepRemovesOwnEntriesWhoseServiceExportIsGone() {
        ServiceKey orphan = new ServiceKey("cluster-a", "billing", "removed-while-down");
        registry.export(new ExportSpec(orphan, List.of(new ServicePort("http", 80, Protocol.HTTP)), List.of(), 1));
        createService("billing", "kept");
        putSlice("billing", "kept", true);
        client.genericKubernetesResources(McsResources.SERVICE_EXPORT).inNamespace("billing")
                .resource(serviceExport("billing", "kept")).create();
        source.start();
        await().atMost(DEADLINE).untilAsserted(() -> {
            assertThat(registry.get(orphan)).isEmpty();
            assertThat(registry.get(new ServiceKey("cluster-a", "billing", "kept"))).isPresent();
        });
    }

    @Test
    void exportsOfAnotherSourceSurviveTheSweepAndServiceChanges() {
        ServiceKey orphan = new ServiceKey("cluster-a", "billing", "removed-while-down");
        ServiceKey vm = new ServiceKey("cluster-a", "billing", "vm-ledger");
        for (ServiceKey k : List.of(orphan, vm)) {
            registry.export(new ExportSpec(k, List.of(new ServicePort("http", 80, Protocol.HTTP)), List.of(), 1));
        }
        source.keep(vm::equals);
        source.start();
        await().atMost(DEADLINE).until(() -> registry.get(orphan).isEmpty());
        assertThat(registry.get(vm)).as("registered by a VM, not by a ServiceExport").isPresent();

        // A Service of the same name without a ServiceExport is reconciled (no export wanted) and must not unexport
        // the VM's service; a marker export queued after it shows the reconcile ran.
        createService("billing", "vm-ledger");
        createService("billing", "marker");
        putSlice("billing", "marker", true);
        client.genericKubernetesResources(McsResources.SERVICE_EXPORT).inNamespace("billing")
                .resource(serviceExport("billing", "marker")).create();
        await().atMost(DEADLINE).until(() -> registry.get(new ServiceKey("cluster-a", "billing", "marker")).isPresent());
        assertThat(registry.get(vm)).isPresent();
    }

    /** Writes an entry of another cluster into the cache, as cross-site replication would deliver it. */
    private void arriveFromRemote(String cluster, String ns, String name) {
        ExportedService e = new ExportedService(new ServiceKey(cluster, ns, name), List.of(new ServicePort("grpc", 9090, Protocol.GRPC)),
                List.of(), new IngressAddress(cluster + ".gw.example", 15443), Locality.UNKNOWN, 1, 1, Instant.now(),
                Duration.ofSeconds(30));
        cache.put(EntryCodec.key(e.key()), EntryCodec.encode(e));
    }

    /** A remote owner's removal as it arrives: a removal record (unsigned: this cache is not replicated). */
    private void removeFromRemote(String cluster, String ns, String name) {
        ServiceKey key = new ServiceKey(cluster, ns, name);
        cache.put(EntryCodec.key(key), EntryCodec.envelope(EntryCodec.encodeRecord(
                new io.isthmus.registry.RegistryRecord.Tombstone(key, 2, Instant.now())), java.util.Optional.empty()));
    }

    @Test
    void remoteExportsBecomeServiceImportsAndTheirRemovalDeletesThem() {
        GenericKubernetesResource orphan = new GenericKubernetesResourceBuilder().withApiVersion(McsResources.API_VERSION)
                .withKind("ServiceImport").withNewMetadata().withNamespace("billing").withName("gone")
                .addToLabels(McsResources.MANAGED_BY, McsResources.MANAGER).endMetadata().build();
        client.genericKubernetesResources(McsResources.SERVICE_IMPORT).inNamespace("billing").resource(orphan).create();
        arriveFromRemote("cluster-b", "billing", "ledger");
        imports.start();
        await().atMost(DEADLINE).untilAsserted(() -> {
            assertThat(serviceImport("billing", "gone")).as("orphan from before the start").isNull();
            assertThat(serviceImport("billing", "ledger")).isNotNull();
        });

        arriveFromRemote("cluster-c", "billing", "ledger");
        arriveFromRemote("cluster-c", "shop", "cart");
        registry.export(new ExportSpec(new ServiceKey("cluster-a", "billing", "local-only"), List.of(), List.of(), 1));
        await().atMost(DEADLINE).untilAsserted(() -> {
            GenericKubernetesResource ledger = serviceImport("billing", "ledger");
            assertThat(ledger.getMetadata().getAnnotations()).containsEntry(McsResources.CLUSTERS_ANNOTATION, "cluster-b,cluster-c");
            @SuppressWarnings("unchecked")
            Map<String, Object> spec = (Map<String, Object>) ledger.getAdditionalProperties().get("spec");
            assertThat(spec).containsEntry("type", "ClusterSetIP");
            assertThat(spec.get("ports").toString()).contains("port=9090").contains("appProtocol=grpc");
            assertThat(serviceImport("shop", "cart")).isNotNull();
        });
        assertThat(serviceImport("billing", "local-only")).as("own exports are not imported").isNull();

        removeFromRemote("cluster-b", "billing", "ledger");
        removeFromRemote("cluster-c", "shop", "cart");
        await().atMost(DEADLINE).untilAsserted(() -> {
            assertThat(serviceImport("shop", "cart")).isNull();
            assertThat(serviceImport("billing", "ledger").getMetadata().getAnnotations())
                    .containsEntry(McsResources.CLUSTERS_ANNOTATION, "cluster-c");
        });
    }

    @Test
    void serviceImportStatusIsWrittenThroughTheStatusSubresourceOfTheInstalledCrd() throws Exception {
        // The CRD the Terraform module installs declares a status subresource (as upstream mcs-api does): the mock
        // API server then drops status from creates and updates of the object, as a real API server does.
        Path crd = Path.of("..", "terraform", "modules", "cluster-gateway", "manifests", "crds",
                "serviceimports.multicluster.x-k8s.io.yaml");
        assertThat(crd).exists();
        try (var in = Files.newInputStream(crd)) {
            client.apiextensions().v1().customResourceDefinitions().load(in).createOr(NonDeletingOperation::update);
        }
        arriveFromRemote("cluster-b", "payments", "api");
        imports.start();
        await().atMost(DEADLINE).untilAsserted(() -> assertThat(statusClusters("payments", "api"))
                .isEqualTo(List.of(Map.of("cluster", "cluster-b"))));
        arriveFromRemote("cluster-c", "payments", "api");
        await().atMost(DEADLINE).untilAsserted(() -> assertThat(statusClusters("payments", "api"))
                .isEqualTo(List.of(Map.of("cluster", "cluster-b"), Map.of("cluster", "cluster-c"))));
    }

    /**
     * A ServiceImport write still in progress when the writer stops (the gateway's clean stop) finishes, and nothing
     * is logged as a failure. Before, the stop interrupted it: "writing ServiceImport ... failed" at WARN, with an
     * InterruptedIOException's stack trace, in a gateway's log on a clean stop (FastRejoinE2ETest caught it).
     */
    @Test
    void aServiceImportWriteInProgressAtStopFinishesAndLogsNoFailure() throws Exception {
        CountDownLatch writing = new CountDownLatch(1);
        server.expect().put().withPath("/apis/" + McsResources.API_VERSION + "/namespaces/shop/serviceimports/slow/status")
                .andReply(200, request -> {
                    writing.countDown();
                    try {
                        Thread.sleep(1_000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return request.getUtf8Body();
                }).once();
        try (LogCapture log = LogCapture.of(ServiceImportWriter.class)) {
            imports.start();
            arriveFromRemote("cluster-b", "shop", "slow");
            assertThat(writing.await(20, TimeUnit.SECONDS)).as("the status write reached the API server").isTrue();
            imports.close();
            assertThat(log.atLeast(Level.WARNING)).as("warnings logged by the writer").isEmpty();
        }
    }

    private Object statusClusters(String ns, String name) {
        GenericKubernetesResource si = serviceImport(ns, name);
        @SuppressWarnings("unchecked")
        Map<String, Object> status = si == null ? null : (Map<String, Object>) si.getAdditionalProperties().get("status");
        return status == null ? null : status.get("clusters");
    }
}
