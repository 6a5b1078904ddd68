package io.isthmus.gateway.registry;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

import java.net.URL;
import java.time.Duration;
import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.gateway.api.ApiReads;
import io.isthmus.registry.kubernetes.McsResources;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;

/** With the Kubernetes source on, a ServiceExport in the (mock, CRUD) API server shows up in /v1/services. */
@QuarkusTest
@WithKubernetesTestServer(crud = true)
@TestProfile(KubernetesRegistrySourceTest.KubernetesOn.class)
class KubernetesRegistrySourceTest {
    public static class KubernetesOn implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("isthmus.registry.kubernetes.enabled", "true");
        }
    }

    @Inject
    KubernetesClient client;

    @TestHTTPResource(value = "/", tls = true)
    URL https;

    @Test
    void serviceExportInKubernetesAppearsInTheApi() {
        client.services().inNamespace("shop").resource(new ServiceBuilder().withNewMetadata().withNamespace("shop")
                .withName("cart").endMetadata().withNewSpec().addNewPort().withName("http").withPort(8080).endPort()
                .endSpec().build()).create();
        client.discovery().v1().endpointSlices().inNamespace("shop").resource(new EndpointSliceBuilder().withNewMetadata()
                .withNamespace("shop").withName("cart-1").addToLabels(McsResources.SERVICE_NAME_LABEL, "cart").endMetadata()
                .withAddressType("IPv4").addNewEndpoint().withAddresses("10.1.0.1").withNewConditions().withReady(true)
                .endConditions().endEndpoint().build()).create();
        client.genericKubernetesResources(McsResources.SERVICE_EXPORT).inNamespace("shop").resource(
                new GenericKubernetesResourceBuilder().withApiVersion(McsResources.API_VERSION).withKind("ServiceExport")
                        .withNewMetadata().withNamespace("shop").withName("cart").endMetadata().build()).create();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                ApiReads.asAdmin(https).when().get("/v1/services/cart.shop.svc.clusterset.local").then().statusCode(200)
                        .body("exports[0].cluster", equalTo("test-cluster"))
                        .body("exports[0].readyEndpoints", equalTo(1))
                        .body("exports[0].ports[0].protocol", equalTo("http")));
        // The static export from configuration survives the Kubernetes startup sweep.
        ApiReads.asAdmin(https).when().get("/v1/services/payments.billing.svc.clusterset.local").then().statusCode(200);
    }
}
