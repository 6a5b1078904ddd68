package io.isthmus.proxy.authz.simulate;

import static io.isthmus.proxy.authz.suggest.Records.http;
import static io.isthmus.proxy.authz.suggest.Records.tcp;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.isthmus.proxy.authz.audit.DecisionRecord;
import io.isthmus.proxy.authz.audit.RecordSelection;
import io.isthmus.proxy.authz.policy.PolicySet;
import io.isthmus.proxy.authz.policy.TestPolicies;
import io.isthmus.proxy.authz.suggest.Records;

/**
 * Replaying logged requests against a candidate: what would newly be denied (it breaks observed traffic) and newly
 * allowed, grouped by caller, destination and the candidate's deciding rule.
 */
class PolicySimulatorTest {
    static final String CHECKOUT = "spiffe://alpha.example/ns/shop/sa/checkout";
    static final String CART = "spiffe://beta.example/ns/shop/sa/cart";

    static final String CANDIDATE = """
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: orders, namespace: shop}
            spec:
              selector: {services: [orders]}
              rules:
              - from: [{source: {principals: ["spiffe://alpha.example/ns/shop/sa/checkout"]}}]
                to: [{operation: {methods: [GET], paths: ["/orders/{*}"]}}]
            ---
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: no-delete, namespace: shop}
            spec:
              action: DENY
              rules:
              - to: [{operation: {methods: [DELETE]}}]
            """;

    static SimulationReport simulate(String candidate, List<DecisionRecord> records) {
        PolicySimulator sim = new PolicySimulator(TestPolicies.set(candidate), RecordSelection.ALL);
        records.forEach(sim::accept);
        return sim.report();
    }

    @Test
    void nothingChangesWhenTheCandidateAllowsWhatWasObserved() {
        SimulationReport r = simulate(CANDIDATE, List.of(http(CHECKOUT, "orders.shop", 80, "GET", "/orders/1"),
                http(CHECKOUT, "orders.shop", 80, "GET", "/orders/2")));
        assertThat(r.breaksTraffic()).isFalse();
        assertThat(r.unchangedAllowed()).isEqualTo(2);
        assertThat(r.replayed()).isEqualTo(2);
    }

    @Test
    void groupsWhatWouldNewlyBeDeniedByCallerDestinationAndRule() {
        SimulationReport r = simulate(CANDIDATE, List.of(
                http(CHECKOUT, "orders.shop", 80, "GET", "/orders/1"),
                http(CART, "orders.shop", 80, "GET", "/orders/1"),
                http(CART, "orders.shop", 80, "GET", "/orders/2"),
                http(CART, "orders.shop", 80, "GET", "/health"),
                http(CHECKOUT, "orders.shop", 80, "DELETE", "/orders/3"),
                tcp(CHECKOUT, "orders.shop", 5432)));
        assertThat(r.breaksTraffic()).isTrue();
        assertThat(r.newlyDeniedRequests()).isEqualTo(5);
        assertThat(r.newlyDenied()).containsExactly(
                new SimulationReport.Group(CHECKOUT, "orders.shop.svc.clusterset.local",
                        "deny explicit-deny by shop/no-delete rules[0]", "allow shop/observe spec.mode", 2,
                        List.of("DELETE /orders/{*}", "TCP 5432")),
                new SimulationReport.Group(CART, "orders.shop.svc.clusterset.local", "deny no-matching-allow",
                        "allow shop/observe spec.mode", 3, List.of("GET /health", "GET /orders/{*}")));
    }

    @Test
    void showsWhatWouldNewlyBeAllowedAndDoesNotReplayRefusalsBeforePolicy() {
        SimulationReport r = simulate(CANDIDATE, List.of(
                Records.denied(CHECKOUT, "orders.shop", 80, "GET", "/orders/9", "no-matching-allow"),
                Records.denied(CHECKOUT, "orders.shop", 80, "GET", "/orders/9", "vouching-by-non-gateway"),
                Records.denied(CART, "orders.shop", 80, "GET", "/orders/9", "explicit-deny")));
        assertThat(r.breaksTraffic()).isFalse();
        assertThat(r.refusedBeforePolicy()).isEqualTo(1);
        assertThat(r.unchangedDenied()).isEqualTo(1);
        assertThat(r.newlyAllowed()).singleElement().satisfies(g -> {
            assertThat(g.caller()).isEqualTo(CHECKOUT);
            assertThat(g.now()).isEqualTo("allow by shop/orders rules[0]");
            assertThat(g.before()).isEqualTo("deny no-matching-allow");
        });
    }

    @Test
    void notesThatObserveModeAndDryRunInTheCandidateDecideNothing() {
        SimulationReport r = simulate("""
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: observe, namespace: shop}
                spec: {mode: OBSERVE}
                ---
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: dry, namespace: shop, annotations: {security.isthmus.io/dry-run: "true"}}
                spec: {action: DENY, rules: [{}]}
                """, List.of(http(CART, "orders.shop", 80, "GET", "/x")));
        assertThat(r.breaksTraffic()).isFalse();
        assertThat(r.notes()).containsExactly(
                "shop/dry is dry-run in the candidate: it decides nothing here either",
                "the candidate puts shop/observe's scope in observe mode: its requests are allowed whatever its "
                        + "rules say");
    }

    @Test
    void groupsStayBoundedWhateverTheNumberOfCallers() {
        PolicySimulator sim = new PolicySimulator(PolicySet.empty("isthmus-system"),
                new RecordSelection(Optional.empty(), Optional.of("shop")));
        for (int i = 0; i < PolicySimulator.MAX_GROUPS + 500; i++) {
            sim.accept(http("spiffe://alpha.example/ns/shop/sa/pod-" + i, "orders.shop", 80, "GET", "/orders/" + i));
        }
        sim.accept(http(CART, "ledger.billing", 80, "GET", "/x"));
        SimulationReport r = sim.report();
        assertThat(r.newlyDenied()).hasSize(PolicySimulator.MAX_GROUPS + 1);
        assertThat(r.newlyDenied()).filteredOn(g -> g.caller().equals(PolicySimulator.OTHER_CALLERS))
                .singleElement().satisfies(g -> assertThat(g.requests()).isEqualTo(500));
        assertThat(r.newlyDeniedRequests()).isEqualTo(PolicySimulator.MAX_GROUPS + 500);
        assertThat(r.otherNamespace()).isEqualTo(1);
    }
}
