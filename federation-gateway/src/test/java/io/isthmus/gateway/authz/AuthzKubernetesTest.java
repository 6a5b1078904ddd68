package io.isthmus.gateway.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Authorizer;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;

/**
 * The gateway with {@code isthmus.authz.source=both} against the Quarkus Kubernetes mock server (CRUD): custom
 * resources created, changed and deleted through the API change the injected Authorizer's decisions, merged with
 * the policy file.
 */
@QuarkusTest
@TestProfile(AuthzKubernetesTest.Both.class)
@WithKubernetesTestServer(crud = true)
class AuthzKubernetesTest {
    static final Path FILE = Path.of("target/test-authz-k8s/policies.yaml");
    static final AccessRequest CHECKOUT = AccessRequest.http(
            SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/checkout"), MeshName.of("payments", "billing"), 8080,
            "POST", "/v1/pay");
    static final AccessRequest CART = AccessRequest.http(SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/cart"),
            MeshName.of("payments", "billing"), 8080, "POST", "/v1/pay");

    public static final class Both implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                Files.createDirectories(FILE.getParent());
                Files.writeString(FILE, policy("file-checkout", "ALLOW", "*/sa/checkout"));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return Map.of("isthmus.authz.source", "both", "isthmus.authz.policy-file", FILE.toString());
        }
    }

    @Inject
    Authorizer authorizer;
    @Inject
    KubernetesClient client;
    @Inject
    AuthzService service;

    static String policy(String name, String action, String principal) {
        return """
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: %s, namespace: billing}
                spec:
                  action: %s
                  rules:
                  - from: [{source: {principals: ["%s"]}}]
                """.formatted(name, action, principal);
    }

    @Test
    void customResourcesChangeTheInjectedAuthorizer() throws IOException {
        var crs = client.genericKubernetesResources(PolicyCrdSource.CONTEXT).inNamespace("billing");
        YAMLMapper yaml = new YAMLMapper();
        await().atMost(Duration.ofSeconds(30)).until(() -> authorizer.authorize(CHECKOUT).allowed());
        assertThat(authorizer.authorize(CART).allowed()).isFalse();

        crs.resource(yaml.readValue(policy("crd-cart", "ALLOW", "*/sa/cart"), GenericKubernetesResource.class))
                .create();
        await().atMost(Duration.ofSeconds(30)).until(() -> authorizer.authorize(CART).allowed());

        crs.resource(yaml.readValue(policy("crd-deny-checkout", "DENY", "*/sa/checkout"),
                GenericKubernetesResource.class)).create();
        await().atMost(Duration.ofSeconds(30)).until(() -> !authorizer.authorize(CHECKOUT).allowed());
        assertThat(authorizer.authorize(CHECKOUT)).isInstanceOfSatisfying(Decision.Denied.class,
                d -> assertThat(d.policy()).isEqualTo("billing/crd-deny-checkout"));

        crs.resource(yaml.readValue(policy("crd-broken", "ALLOW", "spiffe://a/*/x"), GenericKubernetesResource.class))
                .create();
        await().atMost(Duration.ofSeconds(30))
                .until(() -> service.crdSource().orElseThrow().rejected().containsKey("billing/crd-broken"));
        assertThat(authorizer.authorize(CART).allowed()).as("others stay in force").isTrue();

        crs.withName("crd-deny-checkout").delete();
        crs.withName("crd-cart").delete();
        await().atMost(Duration.ofSeconds(30))
                .until(() -> authorizer.authorize(CHECKOUT).allowed() && !authorizer.authorize(CART).allowed());
    }
}
