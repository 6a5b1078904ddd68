package io.isthmus.gateway.authz.explain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.isthmus.proxy.authz.policy.PolicyAuthorizer;
import io.isthmus.proxy.authz.policy.PolicySet;
import io.isthmus.proxy.authz.policy.source.PolicyYaml;
import io.isthmus.proxy.http.path.PathNormalization;
import io.isthmus.proxy.http.path.PathNormalizer;

/**
 * {@code isthmus authz explain} decides with the ingress's own normalizer and authorizer: the rule that decided, the
 * normalized path, the reason code, and a path refused before policy as the ingress refuses it.
 */
class PolicyExplainerTest {
    private static final String CHECKOUT = "spiffe://alpha.acme.internal/ns/shop/sa/checkout";
    private static final String POLICIES = """
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: payments-from-checkout, namespace: billing}
            spec:
              action: ALLOW
              rules:
              - from:
                - source: {principals: ["%s"]}
                to:
                - operation: {methods: ["GET", "POST"], paths: ["/charge*"]}
            ---
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: no-admin, namespace: billing}
            spec:
              action: DENY
              rules:
              - to:
                - operation: {paths: ["/admin*"]}
            """.formatted(CHECKOUT);
    private final PolicyExplainer explainer = new PolicyExplainer(new PathNormalizer(PathNormalization.MERGE_SLASHES),
            new PolicyAuthorizer(PolicySet.of("isthmus-system", PolicyYaml.parse(POLICIES, "policies.yaml"))));

    private Explanation explain(String caller, String method, String path) {
        return explainer.explain(ExplainRequest.parse(caller, "payments.billing", 8080, method, path,
                "svc.clusterset.local"), true);
    }

    @Test
    void anAllowedCallNamesTheRuleAndTheNormalizedPath() {
        Explanation e = explain(CHECKOUT, "POST", "/charge/./now?amount=5");
        assertThat(e.outcome()).isEqualTo("allow");
        assertThat(e.status()).isEqualTo(200);
        assertThat(e.policy()).isEqualTo("billing/payments-from-checkout");
        assertThat(e.rule()).isEqualTo("rules[0]");
        assertThat(e.normalizedPath()).contains("/charge/now");
        assertThat(e.pathNormalization()).isEqualTo("merge-slashes");
    }

    @Test
    void aPathThatNormalizesOntoADeniedOneIsDeniedByThatRule() {
        Explanation e = explain(CHECKOUT, "GET", "/charge/..//%61dmin");
        assertThat(e.normalizedPath()).contains("/admin");
        assertThat(e.outcome()).isEqualTo("deny");
        assertThat(e.status()).isEqualTo(403);
        assertThat(e.reason()).isEqualTo("explicit-deny");
        assertThat(e.policy()).isEqualTo("billing/no-admin");
    }

    @Test
    void anotherCallerIsDeniedByDefaultWithTheReasonCodeTheIngressWouldSend() {
        Explanation e = explain("spiffe://alpha.acme.internal/ns/shop/sa/intruder", "GET", "/charge");
        assertThat(e.outcome()).isEqualTo("deny");
        assertThat(e.reason()).isEqualTo("no-matching-allow");
        assertThat(e.policy()).isEmpty();
    }

    @Test
    void aPathTheIngressRefusesIsRefusedBeforeAnyPolicy() {
        Explanation e = explain(CHECKOUT, "GET", "/charge%2F..%2Fadmin");
        assertThat(e.outcome()).isEqualTo("refused");
        assertThat(e.status()).isEqualTo(400);
        assertThat(e.reason()).isEqualTo("path-encoded-slash");
        assertThat(e.normalizedPath()).isEmpty();
        assertThat(e.detail()).contains("'/charge%2F..%2Fadmin'");
    }

    @Test
    void tcpIsDecidedWithoutMethodOrPath() {
        Explanation e = explainer.explain(ExplainRequest.parse(CHECKOUT, "payments.billing.svc.clusterset.local", 9000,
                null, null, "svc.clusterset.local"), false);
        assertThat(e.outcome()).as("an ALLOW rule with methods and paths never matches TCP").isEqualTo("deny");
        assertThat(e.normalizedPath()).isEqualTo(Optional.empty());
        assertThat(e.servedHere()).isFalse();
    }

    @Test
    void badRequestsAreRefusedNamingTheField() {
        assertThatThrownBy(() -> ExplainRequest.parse("checkout", "payments.billing", 80, null, null,
                "svc.clusterset.local")).hasMessageContaining("caller 'checkout' is not a SPIFFE ID");
        assertThatThrownBy(() -> ExplainRequest.parse(CHECKOUT, "payments", 80, null, null, "svc.clusterset.local"))
                .hasMessageContaining("to 'payments' is not <service>.<namespace>");
        assertThatThrownBy(() -> ExplainRequest.parse(CHECKOUT, "payments.billing", 70000, null, null,
                "svc.clusterset.local")).hasMessageContaining("port 70000");
        assertThatThrownBy(() -> ExplainRequest.parse(CHECKOUT, "payments.billing", 80, "GET", null,
                "svc.clusterset.local")).hasMessageContaining("method and path go together");
    }
}
