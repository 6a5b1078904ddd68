package io.isthmus.gateway.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.isthmus.gateway.config.ConfigException;
import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.policy.AuthorizationPolicy;
import io.isthmus.proxy.authz.policy.PolicyMode;
import io.isthmus.proxy.authz.policy.PolicySet;
import io.isthmus.proxy.authz.policy.source.PolicyYaml;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * {@code isthmus.authz.observe} puts scopes in observe mode as mode policies would, overridden by a more specific
 * mode policy; a custom resource can be a mode policy or dry-run like a policy file's document.
 */
class ObserveScopesTest {
    static final AccessRequest PAY = AccessRequest.http(SpiffeId.parse("spiffe://a.example/ns/shop/sa/cart"),
            MeshName.of("payments", "billing"), 80, "GET", "/");
    static final AccessRequest LEDGER = AccessRequest.http(SpiffeId.parse("spiffe://a.example/ns/shop/sa/cart"),
            MeshName.of("ledger", "billing"), 80, "GET", "/");

    static Decision decide(List<String> observe, String yaml, AccessRequest r) {
        List<AuthorizationPolicy> all = new ArrayList<>(ObserveScopes.policies(observe, "isthmus-system"));
        all.addAll(PolicyYaml.parse(yaml, "p.yaml"));
        return PolicySet.of("isthmus-system", all).decide(r);
    }

    @Test
    void scopesAreTheMeshANamespaceOrAService() {
        assertThat(decide(List.of("*"), "", PAY).observing()).isTrue();
        assertThat(decide(List.of("billing"), "", PAY).observing()).isTrue();
        assertThat(decide(List.of("shop"), "", PAY).observing()).isFalse();
        assertThat(decide(List.of(" billing/payments "), "", PAY).observing()).isTrue();
        assertThat(decide(List.of("billing/payments"), "", LEDGER).observing()).isFalse();
        assertThat(decide(List.of("billing/payments"), "", PAY).policy()).isEqualTo("billing/isthmus.authz.observe");
    }

    @Test
    void aMoreSpecificModePolicyOverridesTheKey() {
        String enforcePayments = """
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: enforce, namespace: billing}
                spec: {mode: ENFORCE, selector: {services: [payments]}}
                """;
        assertThat(decide(List.of("billing"), enforcePayments, PAY).observing()).isFalse();
        assertThat(decide(List.of("billing"), enforcePayments, LEDGER).observing()).isTrue();
    }

    @Test
    void refusesWhatIsNotAScopeNamingTheKey() {
        for (String bad : List.of("Billing", "billing/", "a/b/c", "", "billing/*", "*/payments")) {
            assertThatThrownBy(() -> ObserveScopes.policies(List.of(bad), "isthmus-system"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("configuration isthmus.authz.observe: '" + bad + "' is not a scope");
        }
    }

    @Test
    void theRootNamespaceIsNotAScopeItWouldObserveEveryNamespace() {
        for (String root : List.of("isthmus-system", "isthmus-system/payments")) {
            assertThatThrownBy(() -> ObserveScopes.policies(List.of("billing", root), "isthmus-system"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("'" + root + "' names the root namespace 'isthmus-system'")
                    .hasMessageContaining("write '*' to observe the whole mesh");
        }
    }

    @Test
    void customResourcesCarryModeAndDryRun() throws IOException {
        GenericKubernetesResource mode = new YAMLMapper().readValue("""
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: observe, namespace: billing, uid: "1", resourceVersion: "3"}
                spec: {mode: OBSERVE}
                """, GenericKubernetesResource.class);
        assertThat(PolicyCrdSource.toPolicy(mode).mode()).contains(PolicyMode.OBSERVE);
        GenericKubernetesResource dry = new YAMLMapper().readValue("""
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: no-delete, namespace: billing, annotations: {security.isthmus.io/dry-run: "true"}}
                spec: {action: DENY, rules: [{to: [{operation: {methods: [DELETE]}}]}]}
                """, GenericKubernetesResource.class);
        assertThat(PolicyCrdSource.toPolicy(dry).dryRun()).isTrue();
    }
}
