package io.isthmus.gateway.registry;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;

import java.net.InetSocketAddress;
import java.net.URL;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;

import org.infinispan.manager.EmbeddedCacheManager;
import org.junit.jupiter.api.Test;

import io.isthmus.gateway.api.ApiReads;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.Locality;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.NotOwnerException;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.Registry;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.registry.ServiceResolver;
import io.isthmus.registry.xsite.ChannelFactory;
import io.isthmus.registry.xsite.RegistryNode;
import io.isthmus.registry.xsite.SiteSettings;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.CaFactory;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.x509.Pem;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.specification.RequestSpecification;

/**
 * The gateway runs a replicating registry node (site test-cluster, no peers) with one static export from
 * configuration, serves it over the admin API, resolves it, and reports the registry in readiness and metrics; a
 * replica whose intermediate is withdrawn from the bundle is cut off.
 */
@QuarkusTest
class ServiceRegistryApiTest {
    @Inject
    Registry registry;

    @Inject
    ServiceResolver resolver;

    @Inject
    EmbeddedCacheManager cacheManager;

    @Inject
    RegistryService registryService;

    @Inject
    GatewayConfig gateway;

    @Inject
    TrustService trust;

    @TestHTTPResource(value = "/", tls = true)
    URL https;

    @TestHTTPResource(value = "/health/ready", management = true)
    URL ready;

    @TestHTTPResource(value = "/metrics", management = true)
    URL metrics;

    private RequestSpecification reads() {
        return ApiReads.asAdmin(https);
    }

    @Test
    void listsTheStaticExportWithPortsProtocolsAndLocality() {
        reads().when().get("/v1/services").then().statusCode(200)
                .body("find { it.name == 'payments' }.cluster", equalTo("test-cluster"))
                .body("find { it.name == 'payments' }.meshName", equalTo("payments.billing.svc.clusterset.local"))
                .body("find { it.name == 'payments' }.ports.protocol", equalTo(List.of("http", "grpc")))
                .body("find { it.name == 'payments' }.readyEndpoints", equalTo(2))
                .body("find { it.name == 'payments' }.region", equalTo("eu-west"))
                .body("find { it.name == 'payments' }.routable", equalTo(true));
        reads().queryParam("namespace", "nope").when().get("/v1/services").then().statusCode(200).body("$", hasSize(0));
        reads().queryParam("stale", "true").when().get("/v1/services").then().statusCode(200).body("$", hasSize(0));
        reads().queryParam("stale", "maybe").when().get("/v1/services").then().statusCode(400)
                .body("code", equalTo("invalid-stale-filter"));
    }

    @Test
    void getsOneMeshNameOr404() {
        reads().when().get("/v1/services/payments.billing.svc.clusterset.local").then().statusCode(200)
                .body("exports.cluster", hasItem("test-cluster"))
                .body("routingOrder", equalTo(List.of("test-cluster")));
        reads().when().get("/v1/services/ghost.billing.svc.clusterset.local").then().statusCode(404)
                .body("code", equalTo("unknown-service"))
                .body("detail", containsString("ghost.billing.svc.clusterset.local"));
        reads().when().get("/v1/services/not-a-mesh-name").then().statusCode(400).body("code", equalTo("invalid-mesh-name"));
    }

    @Test
    void exportsWrittenThroughTheRegistryBeanAreResolvedAndForeignKeysRefused() {
        registry.export(new ExportSpec(new ServiceKey("test-cluster", "shop", "cart"),
                List.of(new ServicePort("http", 8080, Protocol.HTTP)), List.of(), 1));
        assertThat(resolver.resolve(MeshName.of("cart", "shop"), Locality.UNKNOWN)).singleElement()
                .satisfies(e -> assertThat(e.key().cluster()).isEqualTo("test-cluster"));
        reads().queryParam("namespace", "shop").when().get("/v1/services").then().statusCode(200).body("name", hasItem("cart"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> registry.export(new ExportSpec(
                new ServiceKey("other", "shop", "cart"), List.of(), List.of(), 0))).isInstanceOf(NotOwnerException.class);
        registry.unexport(new ServiceKey("test-cluster", "shop", "cart"));
    }

    @Test
    void sharesItsCacheManagerForOtherFeatures() {
        assertThat(cacheManager.getCacheNames()).contains("isthmus-registry");
    }

    @Test
    void readinessAndMetricsReportTheRegistry() {
        given().when().get(ready).then().statusCode(200)
                .body("checks.find { it.name == 'isthmus-registry' }.status", equalTo("UP"))
                .body("checks.find { it.name == 'isthmus-registry' }.data.site", equalTo("test-cluster"))
                .body("checks.find { it.name == 'isthmus-registry' }.data.replicated", equalTo(true))
                .body("checks.find { it.name == 'isthmus-registry' }.data.'sites-connected'", containsString("test-cluster"))
                .body("checks.find { it.name == 'isthmus-registry' }.data.'bridge-revoked-connections'", equalTo(0))
                .body("checks.find { it.name == 'isthmus-registry' }.data.'bridge-refused-writes'", equalTo(0))
                .body("checks.find { it.name == 'isthmus-registry' }.data.'local-revoked-connections'",
                        equalTo((int) registryService.node().orElseThrow().revokedLocalConnections()));
        given().when().get(metrics).then().statusCode(200)
                .body(containsString("isthmus_registry_entries"))
                .body(containsString("isthmus_registry_sites_connected"))
                .body(containsString("isthmus_registry_bridge_revoked_connections"))
                .body(containsString("isthmus_registry_bridge_refused_writes"))
                .body(containsString("isthmus_registry_local_revoked_connections"));
    }

    /**
     * The signing wiring: the gateway signs its own exports with its SVID, and a record an unsigned writer put into the
     * cache (a replica of this cluster still running a gateway from before signed entries, during a rolling upgrade)
     * is refused, counted by reason in the metrics, and never served.
     */
    @Test
    void signsItsExportsAndRefusesAnUnsignedRecordFromAnOlderReplica() {
        org.infinispan.Cache<String, String> cache = cacheManager.getCache(RegistryNode.REGISTRY_CACHE);
        io.isthmus.registry.signing.SignedRecord own = io.isthmus.registry.store.EntryCodec.parseValue(
                cache.get("test-cluster/billing/payments"));
        assertThat(io.isthmus.trust.x509.Certificates.uriSans(own.signature().orElseThrow().signer()))
                .containsExactly(trust.runtime().settings().gatewayId().toString());

        long before = registryService.registry().refusals(io.isthmus.registry.signing.EntryRefusal.UNSIGNED);
        ServiceKey legacy = new ServiceKey("test-cluster", "shop", "legacy");
        var e = registry.get(new ServiceKey("test-cluster", "billing", "payments")).orElseThrow();
        cache.put("test-cluster/shop/legacy", io.isthmus.registry.store.EntryCodec.encode(new io.isthmus.registry
                .ExportedService(legacy, e.ports(), List.of(), e.ingress(), e.locality(), 1, 1, java.time.Instant.now(),
                e.lease())));
        assertThat(registry.get(legacy)).isEmpty();
        assertThat(registryService.registry().refusals(io.isthmus.registry.signing.EntryRefusal.UNSIGNED))
                .isEqualTo(before + 1);
        reads().when().get("/v1/services/legacy.shop.svc.clusterset.local").then().statusCode(404);
        given().when().get(metrics).then().statusCode(200)
                .body(containsString("isthmus_registry_refused_records{reason=\"unsigned\"} " + (before + 1)));
        cache.remove("test-cluster/shop/legacy");
    }

    /**
     * The gateway wiring of revocation, end to end: a second replica of this cluster, whose SVID comes from a second
     * intermediate published in the local bundle (as during a CA rotation), joins the gateway's local cluster over
     * TLS. Withdrawing that intermediate changes the bundles; the trust plane's event reaches the registry, which
     * closes its open connection with the replica and counts it in readiness. The intermediate is published again
     * at the end so that the replica can leave cleanly and the gateway is alone again for the other tests.
     */
    @Test
    void closesTheConnectionOfAReplicaWhoseIntermediateIsWithdrawnFromTheBundle() throws Exception {
        TrustRuntime runtime = trust.runtime();
        RegistryNode node = registryService.node().orElseThrow();
        SiteSettings own = node.settings();
        Path devCa = gateway.dataDir().resolve("dev-ca");
        CaCredential root = new CaCredential(Pem.readPrivateKey(devCa.resolve("root.key")),
                Pem.readCertificates(devCa.resolve("root.pem")));
        CaCredential second = new CaFactory(Clock.systemUTC()).issueIntermediate(root, runtime.trustDomain(),
                Duration.ofHours(1));
        X509Svid replicaSvid = new SvidIssuer(Clock.systemUTC()).issue(second, runtime.settings().gatewayId(),
                Duration.ofMinutes(30));
        SiteSettings replicaSettings = new SiteSettings(own.site(), own.trustDomain(), own.bindHost(), FreePorts.next(),
                List.of(new InetSocketAddress(own.bindHost(), own.localPort())), FreePorts.next(), Map.of());
        long revokedBefore = node.revokedLocalConnections();
        runtime.localBundle().publish(second.certificate());
        try (RegistryNode replica = RegistryNode.start(replicaSettings, () -> replicaSvid, runtime.verifier(),
                runtime.settings().gatewayId()::equals, ChannelFactory.Timing.DEFAULT)) {
            await("the replica joins the gateway's local cluster").atMost(Duration.ofSeconds(60))
                    .until(() -> cacheManager.getMembers().size() == 2 && replica.registryCache().values().stream()
                            .anyMatch(v -> v.contains("payments")));
            assertThat(node.revokedLocalConnections()).as("nothing revoked while the intermediate is published")
                    .isEqualTo(revokedBefore);

            runtime.localBundle().withdraw(second.certificate().getSerialNumber());
            await("the gateway closes its connection with the replica").atMost(Duration.ofSeconds(30))
                    .until(() -> node.revokedLocalConnections() > revokedBefore);
            given().when().get(ready).then().statusCode(200)
                    .body("checks.find { it.name == 'isthmus-registry' }.data.'local-revoked-connections'",
                            equalTo((int) node.revokedLocalConnections()));

            runtime.localBundle().publish(second.certificate());
        } finally {
            await("the gateway is alone in its local cluster again").atMost(Duration.ofSeconds(60))
                    .until(() -> cacheManager.getMembers().size() == 1);
            if (runtime.localBundle().current().containsAuthority(second.certificate())) {
                runtime.localBundle().withdraw(second.certificate().getSerialNumber());
            }
        }
    }
}
