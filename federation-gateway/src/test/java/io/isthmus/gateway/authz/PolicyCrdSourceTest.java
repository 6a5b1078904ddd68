package io.isthmus.gateway.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.policy.PolicyViolation;
import io.isthmus.proxy.authz.policy.source.PolicyStore;
import io.isthmus.proxy.authz.policy.source.PolicyYaml;
import io.isthmus.proxy.authz.policy.source.ReloadStatus;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;

/** AuthorizationPolicy custom resources through a real informer against the fabric8 mock API server (CRUD mode). */
@EnableKubernetesMockClient(crud = true)
class PolicyCrdSourceTest {
    static final YAMLMapper YAML = new YAMLMapper();
    static final AccessRequest CHECKOUT = AccessRequest.http(
            SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/checkout"), MeshName.of("payments", "billing"), 8080,
            "POST", "/v1/pay");
    static final AccessRequest CART = AccessRequest.http(SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/cart"),
            MeshName.of("payments", "billing"), 8080, "POST", "/v1/pay");

    KubernetesClient client;
    PolicyCrdSource source;
    final List<ReloadStatus> events = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        if (source != null) {
            source.close();
        }
    }

    static GenericKubernetesResource cr(String yaml) throws IOException {
        return YAML.readValue(yaml, GenericKubernetesResource.class);
    }

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

    NonNamespaceOperation<GenericKubernetesResource, GenericKubernetesResourceList, Resource<GenericKubernetesResource>> resources() {
        return client.genericKubernetesResources(PolicyCrdSource.CONTEXT).inNamespace("billing");
    }

    boolean allowed(PolicyStore store, AccessRequest r) {
        return store.authorizer().authorize(r).allowed();
    }

    @Test
    void createUpdateDeleteChangeDecisions() throws IOException {
        PolicyStore store = new PolicyStore("isthmus-system");
        source = new PolicyCrdSource(client, store, Clock.systemUTC(), true, events::add);
        source.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> !events.isEmpty());
        assertThat(allowed(store, CHECKOUT)).as("no resource: default deny").isFalse();

        resources().resource(cr(policy("allow-checkout", "ALLOW", "*/sa/checkout"))).create();
        await().atMost(Duration.ofSeconds(30)).until(() -> allowed(store, CHECKOUT));
        assertThat(store.authorizer().authorize(CHECKOUT)).isInstanceOfSatisfying(Decision.Allowed.class,
                a -> assertThat(a.policy()).isEqualTo("billing/allow-checkout"));
        assertThat(allowed(store, CART)).isFalse();

        resources().resource(cr(policy("allow-checkout", "ALLOW", "*/sa/cart"))).update();
        await().atMost(Duration.ofSeconds(30)).until(() -> allowed(store, CART) && !allowed(store, CHECKOUT));

        resources().resource(cr(policy("deny-cart", "DENY", "*/sa/cart"))).create();
        await().atMost(Duration.ofSeconds(30)).until(() -> !allowed(store, CART));
        assertThat(store.authorizer().authorize(CART)).isInstanceOfSatisfying(Decision.Denied.class,
                d -> assertThat(d.policy()).isEqualTo("billing/deny-cart"));

        resources().withName("deny-cart").delete();
        await().atMost(Duration.ofSeconds(30)).until(() -> allowed(store, CART));
        resources().withName("allow-checkout").delete();
        await().atMost(Duration.ofSeconds(30)).until(() -> !allowed(store, CART));
    }

    @Test
    void invalidResourceIsRefusedWithItsReasonAndOthersStayInForce() throws IOException {
        PolicyStore store = new PolicyStore("isthmus-system");
        source = new PolicyCrdSource(client, store, Clock.systemUTC(), true, events::add);
        source.start();
        resources().resource(cr(policy("allow-checkout", "ALLOW", "*/sa/checkout"))).create();
        await().atMost(Duration.ofSeconds(30)).until(() -> allowed(store, CHECKOUT));

        // The mock API server does not enforce the CRD schema, like a cluster where the CRD is outdated.
        resources().resource(cr(policy("bad", "ALLOW", "spiffe://a/*/x"))).create();
        resources().resource(cr(policy("bad-action", "PERMIT", "*/sa/cart"))).create();
        await().atMost(Duration.ofSeconds(30)).until(() -> source.rejected().size() == 2);
        assertThat(allowed(store, CHECKOUT)).as("valid policy unaffected").isTrue();
        assertThat(allowed(store, CART)).isFalse();
        Map<String, List<PolicyViolation>> rejected = source.rejected();
        assertThat(rejected.get("billing/bad")).singleElement().hasToString(
                "spec.rules[0].from[0].source.principals[0]: \"spiffe://a/*/x\": '*' is allowed only as the whole "
                        + "value, at the start (suffix match, \"*/sa/checkout\") or at the end (prefix match, "
                        + "\"spiffe://td/ns/shop/*\")");
        assertThat(rejected.get("billing/bad-action")).singleElement().hasToString(
                "spec.action: \"PERMIT\" is not an action (expected ALLOW, DENY or AUDIT)");
        assertThat(source.status().policies()).isEqualTo(1);
        assertThat(source.status().lastErrors()).hasSize(2);

        // The refusal is reported on the resource itself.
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            Object status = resources().withName("bad-action").get().getAdditionalProperties().get("status");
            assertThat(status).isInstanceOfSatisfying(Map.class, m -> {
                assertThat(m.get("accepted")).isEqualTo(false);
                assertThat((String) m.get("reason")).startsWith("spec.action: \"PERMIT\" is not an action");
            });
        });
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
                resources().withName("allow-checkout").get().getAdditionalProperties().get("status"))
                .isInstanceOfSatisfying(Map.class, m -> assertThat(m.get("accepted")).isEqualTo(true)));

        // Fixing it brings it into force.
        resources().resource(cr(policy("bad-action", "ALLOW", "*/sa/cart"))).update();
        await().atMost(Duration.ofSeconds(30)).until(() -> allowed(store, CART));
        assertThat(source.rejected()).containsOnlyKeys("billing/bad");
    }

    @Test
    void crdPoliciesMergeWithTheFile() throws IOException {
        PolicyStore store = new PolicyStore("isthmus-system");
        store.update("file", PolicyYaml.parse(policy("from-file", "ALLOW", "*/sa/checkout"), "policies.yaml"));
        source = new PolicyCrdSource(client, store, Clock.systemUTC(), false, events::add);
        source.start();
        resources().resource(cr(policy("from-crd", "ALLOW", "*/sa/cart"))).create();
        await().atMost(Duration.ofSeconds(30)).until(() -> allowed(store, CART));
        assertThat(allowed(store, CHECKOUT)).isTrue();
        // A DENY from either source wins.
        resources().resource(cr(policy("deny-checkout", "DENY", "*/sa/checkout"))).create();
        await().atMost(Duration.ofSeconds(30)).until(() -> !allowed(store, CHECKOUT));
    }

    /** Regression (PolicyCrdFuzzTest, seed invalid-no-metadata.json): key() threw a NullPointerException. */
    @Test
    void aResourceWithoutMetadataOrNamesIsRefusedByField() {
        GenericKubernetesResource none = new GenericKubernetesResource();
        none.setApiVersion("security.isthmus.io/v1alpha1");
        none.setKind("AuthorizationPolicy");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> PolicyCrdSource.toPolicy(none))
                .isInstanceOfSatisfying(io.isthmus.proxy.authz.policy.InvalidPolicyException.class, e -> {
                    assertThat(e.source()).isEqualTo("crd:?/?");
                    assertThat(e.violations()).extracting(PolicyViolation::path).contains("metadata");
                });
        GenericKubernetesResource nameless = new GenericKubernetesResource();
        nameless.setApiVersion("security.isthmus.io/v1alpha1");
        nameless.setKind("AuthorizationPolicy");
        nameless.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withNamespace("shop").build());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> PolicyCrdSource.toPolicy(nameless))
                .isInstanceOfSatisfying(io.isthmus.proxy.authz.policy.InvalidPolicyException.class,
                        e -> assertThat(e.violations()).extracting(PolicyViolation::path).contains("metadata.name"));
    }
}
