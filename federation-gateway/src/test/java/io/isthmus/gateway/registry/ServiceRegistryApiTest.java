package io.isthmus.gateway.registry;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;

import java.net.URL;
import java.util.List;

import jakarta.enterprise.inject.spi.BeanManager;
import jakarta.inject.Inject;

import org.infinispan.manager.EmbeddedCacheManager;
import org.junit.jupiter.api.Test;

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
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.runtime.TrustSnapshot;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The gateway runs a replicating registry node (site test-cluster, no peers) with one static export from
 * configuration, serves it over the admin API, resolves it, and reports the registry in readiness and metrics.
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
    BeanManager beans;

    @Inject
    TrustService trust;

    @TestHTTPResource(value = "/health/ready", management = true)
    URL ready;

    @TestHTTPResource(value = "/metrics", management = true)
    URL metrics;

    @Test
    void listsTheStaticExportWithPortsProtocolsAndLocality() {
        given().when().get("/v1/services").then().statusCode(200)
                .body("find { it.name == 'payments' }.cluster", equalTo("test-cluster"))
                .body("find { it.name == 'payments' }.meshName", equalTo("payments.billing.svc.clusterset.local"))
                .body("find { it.name == 'payments' }.ports.protocol", equalTo(List.of("http", "grpc")))
                .body("find { it.name == 'payments' }.readyEndpoints", equalTo(2))
                .body("find { it.name == 'payments' }.region", equalTo("eu-west"))
                .body("find { it.name == 'payments' }.routable", equalTo(true));
        given().queryParam("namespace", "nope").when().get("/v1/services").then().statusCode(200).body("$", hasSize(0));
        given().queryParam("stale", "true").when().get("/v1/services").then().statusCode(200).body("$", hasSize(0));
        given().queryParam("stale", "maybe").when().get("/v1/services").then().statusCode(400)
                .body("code", equalTo("invalid-stale-filter"));
    }

    @Test
    void getsOneMeshNameOr404() {
        given().when().get("/v1/services/payments.billing.svc.clusterset.local").then().statusCode(200)
                .body("exports.cluster", hasItem("test-cluster"))
                .body("routingOrder", equalTo(List.of("test-cluster")));
        given().when().get("/v1/services/ghost.billing.svc.clusterset.local").then().statusCode(404)
                .body("code", equalTo("unknown-service"))
                .body("detail", containsString("ghost.billing.svc.clusterset.local"));
        given().when().get("/v1/services/not-a-mesh-name").then().statusCode(400).body("code", equalTo("invalid-mesh-name"));
    }

    @Test
    void exportsWrittenThroughTheRegistryBeanAreResolvedAndForeignKeysRefused() {
        registry.export(new ExportSpec(new ServiceKey("test-cluster", "shop", "cart"),
                List.of(new ServicePort("http", 8080, Protocol.HTTP)), List.of(), 1));
        assertThat(resolver.resolve(MeshName.of("cart", "shop"), Locality.UNKNOWN)).singleElement()
                .satisfies(e -> assertThat(e.key().cluster()).isEqualTo("test-cluster"));
        given().queryParam("namespace", "shop").when().get("/v1/services").then().statusCode(200).body("name", hasItem("cart"));
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
                .body("checks.find { it.name == 'isthmus-registry' }.data.'local-revoked-connections'", equalTo(0));
        given().when().get(metrics).then().statusCode(200)
                .body(containsString("isthmus_registry_entries"))
                .body(containsString("isthmus_registry_sites_connected"))
                .body(containsString("isthmus_registry_bridge_revoked_connections"))
                .body(containsString("isthmus_registry_local_revoked_connections"));
    }

    @Test
    void reChecksRegistryPeersWhenTheTrustSnapshotChanges() {
        TrustSnapshot changed = new TrustSnapshot(trust.runtime().roots(), trust.runtime().snapshot().svid(),
                BundleSet.empty());
        assertThat(beans.resolveObserverMethods(changed))
                .anySatisfy(o -> assertThat(o.getBeanClass()).isEqualTo(RegistryService.class));
    }
}
