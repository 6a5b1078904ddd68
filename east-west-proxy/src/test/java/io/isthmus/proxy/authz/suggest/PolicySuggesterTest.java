package io.isthmus.proxy.authz.suggest;

import static io.isthmus.proxy.authz.suggest.Records.http;
import static io.isthmus.proxy.authz.suggest.Records.tcp;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import io.isthmus.proxy.authz.audit.DecisionRecord;
import io.isthmus.proxy.authz.audit.RecordSelection;
import io.isthmus.proxy.authz.policy.AuthorizationPolicy;
import io.isthmus.proxy.authz.policy.PolicySet;
import io.isthmus.proxy.authz.policy.source.PolicyYaml;
import io.isthmus.proxy.authz.simulate.PolicySimulator;
import io.isthmus.proxy.authz.simulate.SimulationReport;

/**
 * Suggestions from observed traffic: one ALLOW policy per service, exactly what was seen (ids generalized and
 * listed for review, callers grouped only above the threshold), deterministic, valid as a policy file and as
 * manifests, and allowing every request it was built from while denying what was denied.
 */
class PolicySuggesterTest {
    static final String CHECKOUT = "spiffe://alpha.example/ns/shop/sa/checkout";
    static final String CART = "spiffe://beta.example/ns/shop/sa/cart";
    static final String REPORTING = "spiffe://alpha.example/ns/analytics/sa/reporting";
    static final String INTRUDER = "spiffe://alpha.example/ns/shop/sa/intruder";

    /** Mixed traffic: ids in paths, several callers and methods, a TCP caller, denials that must stay denied. */
    static List<DecisionRecord> traffic() {
        List<DecisionRecord> r = new ArrayList<>();
        Random random = new Random(7);
        for (int i = 1; i <= 40; i++) {
            r.add(http(CHECKOUT, "orders.shop", 80, "GET", "/orders/" + (1000 + i)));
        }
        for (int i = 0; i < 5; i++) {
            r.add(http(CHECKOUT, "orders.shop", 80, "GET", "/orders/"
                    + new UUID(random.nextLong(), random.nextLong()) + "/items"));
            r.add(http(CHECKOUT, "orders.shop", 80, "POST", "/orders"));
        }
        r.add(http(CART, "orders.shop", 80, "GET", "/orders/7"));
        r.add(http(CART, "orders.shop", 80, "GET", "/health"));
        for (int i = 0; i < 6; i++) {
            r.add(http("spiffe://gamma.example/ns/team" + i + "/sa/app", "orders.shop", 80, "GET", "/health"));
        }
        for (int i = 0; i < 3; i++) {
            r.add(tcp(REPORTING, "ledger.billing", 5432));
        }
        r.add(http(REPORTING, "ledger.billing", 5432, "GET", "/status"));
        r.add(Records.denied(INTRUDER, "orders.shop", 80, "DELETE", "/orders/1", "no-matching-allow"));
        r.add(Records.denied(INTRUDER, "orders.shop", 80, "GET", "/orders/1", "vouching-by-non-gateway"));
        return r;
    }

    static Suggestion suggest(List<DecisionRecord> records) {
        PolicySuggester s = new PolicySuggester(PolicySuggester.Options.defaults());
        records.forEach(s::accept);
        return s.suggestion();
    }

    @Test
    void writesOnePolicyPerServiceWithTheCountsBehindEachRule() {
        assertThat(SuggestionYaml.policyFile(suggest(traffic()), false)).isEqualTo(EXPECTED);
    }

    static final String EXPECTED = """
            # Suggested by isthmus authz suggest: least-privilege ALLOW policies for the traffic observed.
            # From 62 requests logged 2026-11-23T10:00:00Z .. 2026-11-23T10:00:00Z; 64 records read.
            # Left out: 1 denied by policy, 1 refused before policy, 0 before --since, 0 of other namespaces.
            # Callers are exact SPIFFE IDs; more than 5 distinct identities of one namespace (namespaces of one trust domain)
            # calling a service are grouped into a namespace (trust-domain) wildcard.
            # Review these generalizations (template <- observed paths it stands for: why; requests):
            #   orders.shop /orders/{*} <- /orders/1001 .. /orders/7: a number; 41
            #   orders.shop /orders/{*}/items <- /orders/154de301-afca-c4e5-edc2-6f161bfba4ce/items .. /orders/bb0f1798-a377-3418-bfc9-945a02770b39/items: a UUID; 5
            ---
            # ledger.billing: 4 requests from 1 caller
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata:
              name: "suggested-ledger"
              namespace: "billing"
            spec:
              action: ALLOW
              selector:
                services: ["ledger"]
              rules:
              # 4 requests
              - from:
                - source:
                    principals:
                    - "spiffe://alpha.example/ns/analytics/sa/reporting"  # 4 requests
                to:
                - operation:  # 4 requests; counts the HTTP requests on these ports too: TCP access to a port covers any HTTP on it
                    ports: [5432]
            ---
            # orders.shop: 58 requests from 3 callers
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata:
              name: "suggested-orders"
              namespace: "shop"
            spec:
              action: ALLOW
              selector:
                services: ["orders"]
              rules:
              # 50 requests
              - from:
                - source:
                    principals:
                    - "spiffe://alpha.example/ns/shop/sa/checkout"  # 50 requests
                to:
                - operation:  # 45 requests
                    ports: [80]
                    methods: ["GET"]
                    paths:
                    - "/orders/{*}"  # 40
                    - "/orders/{*}/items"  # 5
                - operation:  # 5 requests
                    ports: [80]
                    methods: ["POST"]
                    paths:
                    - "/orders"  # 5
              # 2 requests
              - from:
                - source:
                    principals:
                    - "spiffe://beta.example/ns/shop/sa/cart"  # 2 requests
                to:
                - operation:  # 2 requests
                    ports: [80]
                    methods: ["GET"]
                    paths:
                    - "/health"  # 1
                    - "/orders/{*}"  # 1
              # 6 requests
              - from:
                - source:
                    trustDomains:
                    - "gamma.example"  # 6 requests; trust-domain wildcard: more than 5 namespaces of gamma.example were seen
                to:
                - operation:  # 6 requests
                    ports: [80]
                    methods: ["GET"]
                    paths:
                    - "/health"  # 6
            """;

    @Test
    void theSuggestionAllowsEverythingObservedAndNothingThatWasDenied() {
        List<DecisionRecord> records = traffic();
        Suggestion s = suggest(records);
        List<AuthorizationPolicy> policies = PolicyYaml.parse(SuggestionYaml.policyFile(s, false), "suggested.yaml");
        assertThat(policies).extracting(p -> p.id().toString()).containsExactly("billing/suggested-ledger",
                "shop/suggested-orders");
        PolicySimulator sim = new PolicySimulator(PolicySet.of("isthmus-system", policies), RecordSelection.ALL);
        records.forEach(sim::accept);
        SimulationReport report = sim.report();
        assertThat(report.newlyDenied()).isEmpty();
        assertThat(report.newlyAllowed()).isEmpty();
        assertThat(report.unchangedAllowed()).isEqualTo(records.size() - 2);
        assertThat(report.unchangedDenied()).isEqualTo(1);
        assertThat(report.refusedBeforePolicy()).isEqualTo(1);

        PolicySet set = PolicySet.of("isthmus-system", policies);
        assertThat(set.decide(http(CHECKOUT, "orders.shop", 80, "DELETE", "/orders/1001").toAccessRequest())
                .allowed()).as("a method never seen").isFalse();
        assertThat(set.decide(http(CHECKOUT, "orders.shop", 80, "GET", "/orders/1001/delete").toAccessRequest())
                .allowed()).as("one segment deeper than seen").isFalse();
        assertThat(set.decide(http(INTRUDER, "orders.shop", 80, "GET", "/orders/1").toAccessRequest()).allowed())
                .as("a caller never seen").isFalse();
        assertThat(set.decide(http(CHECKOUT, "orders.shop", 8080, "GET", "/orders/1").toAccessRequest()).allowed())
                .as("a port never seen").isFalse();
        assertThat(set.decide(tcp(CHECKOUT, "ledger.billing", 5432).toAccessRequest()).allowed()).isFalse();
        assertThat(set.decide(http("spiffe://gamma.example/ns/team99/sa/new", "orders.shop", 80, "GET", "/health")
                .toAccessRequest()).allowed()).as("inside the trust domain the traffic was grouped into").isTrue();
    }

    @Test
    void theSameLogsInAnyOrderGiveTheSameText() {
        List<DecisionRecord> records = traffic();
        String first = SuggestionYaml.policyFile(suggest(records), false);
        for (int seed = 0; seed < 5; seed++) {
            List<DecisionRecord> shuffled = new ArrayList<>(records);
            Collections.shuffle(shuffled, new Random(seed));
            assertThat(SuggestionYaml.policyFile(suggest(shuffled), false)).isEqualTo(first);
        }
    }

    @Test
    void manifestsAreTheSamePoliciesOnePerServiceLabelledForKubectl() {
        Suggestion s = suggest(traffic());
        Map<String, String> manifests = SuggestionYaml.manifests(s, true);
        assertThat(manifests).containsOnlyKeys("billing.ledger.yaml", "shop.orders.yaml");
        String orders = manifests.get("shop.orders.yaml");
        assertThat(orders).contains("  labels:\n    app.kubernetes.io/managed-by: \"isthmus-authz-suggest\"\n")
                .contains("security.isthmus.io/dry-run: \"true\"").contains("/orders/{*}");
        assertThat(orders).as("only its own generalizations").doesNotContain("ledger.billing");
        List<AuthorizationPolicy> parsed = PolicyYaml.parse(orders, "shop.orders.yaml");
        assertThat(parsed).singleElement().satisfies(p -> {
            assertThat(p.dryRun()).isTrue();
            assertThat(p.rules()).isEqualTo(PolicyYaml.parse(SuggestionYaml.policyFile(s, false), "f").get(1).rules());
        });
    }

    @Test
    void leavesOutWhatIsOutsideTheWindowOrNamespace() {
        List<DecisionRecord> records = new ArrayList<>(traffic());
        records.add(http(Records.T0.minus(Duration.ofDays(2)), CHECKOUT, "orders.shop", 80, "PUT", "/orders/1"));
        PolicySuggester s = new PolicySuggester(new PolicySuggester.Options(new RecordSelection(
                Optional.of(Records.T0.minus(Duration.ofDays(1))), Optional.of("shop")), 5, Budget.DEFAULT_LIMIT));
        records.forEach(s::accept);
        Suggestion suggestion = s.suggestion();
        assertThat(suggestion.policies()).extracting(Suggestion.ServicePolicy::service).containsExactly("orders");
        assertThat(suggestion.totals().outsideWindow()).isEqualTo(1);
        assertThat(suggestion.totals().otherNamespace()).isEqualTo(4);
        assertThat(SuggestionYaml.policyFile(suggestion, false)).doesNotContain("PUT");
    }

    /**
     * A million requests, each with ids never seen before (orders, carts of an unknown id shape, callers), stay
     * within a few hundred entries; and when the budget is small, what does not fit is counted and the output says
     * it is incomplete instead of growing.
     */
    @Test
    void aMillionDistinctIdsStayWithinTheBudget() {
        PolicySuggester s = new PolicySuggester(PolicySuggester.Options.defaults());
        for (int i = 0; i < 1_000_000; i++) {
            String caller = "spiffe://alpha.example/ns/shop/sa/pod-" + i;
            s.accept(i % 2 == 0 ? http(caller, "orders.shop", 80, "GET", "/orders/" + i + "/items")
                    : http(caller, "orders.shop", 80, "GET", "/carts/c_" + Integer.toString(i, 36)));
        }
        Suggestion suggestion = s.suggestion();
        assertThat(s.budget().peak()).as("entries held at most").isLessThan(200);
        assertThat(suggestion.totals().used()).isEqualTo(1_000_000);
        String yaml = SuggestionYaml.policyFile(suggestion, false);
        assertThat(yaml).contains("\"spiffe://alpha.example/ns/shop/*\"  # 1000000 requests; namespace wildcard")
                .contains("\"/carts/{*}\"  # 500000").contains("\"/orders/{*}/items\"  # 500000");

        PolicySuggester small = new PolicySuggester(new PolicySuggester.Options(RecordSelection.ALL, 5, 50));
        for (int i = 0; i < 100_000; i++) {
            small.accept(tcp("spiffe://td" + i + ".example/ns/shop/sa/x", "orders.shop", 5432));
        }
        assertThat(small.budget().peak()).isLessThanOrEqualTo(50);
        Suggestion partial = small.suggestion();
        assertThat(partial.totals().overBudget()).isGreaterThan(99_000);
        assertThat(SuggestionYaml.policyFile(partial, false)).contains("# WARNING: " + partial.totals().overBudget()
                + " requests did not fit the entry budget of 50 (--max-entries): this suggestion is INCOMPLETE");
    }

    @Test
    void tcpAccessToAPortCoversTheHttpOnIt() {
        Suggestion s = suggest(List.of(tcp(REPORTING, "ledger.billing", 5432),
                http(REPORTING, "ledger.billing", 5432, "GET", "/status"),
                http(REPORTING, "ledger.billing", 8080, "GET", "/metrics")));
        Suggestion.SuggestedRule rule = s.policies().get(0).rules().get(0);
        assertThat(rule.to()).hasSize(2);
        assertThat(rule.to().get(0).ports()).containsExactly(5432);
        assertThat(rule.to().get(0).tcp()).isTrue();
        assertThat(rule.to().get(0).requests()).isEqualTo(2);
        assertThat(rule.to().get(1).ports()).containsExactly(8080);
        assertThat(rule.to().get(1).paths()).extracting(Suggestion.PathCount::template).containsExactly("/metrics");
    }

    @Test
    void methodsAPolicyCannotNameAreReportedNotDropped() {
        Suggestion s = suggest(List.of(http(CART, "orders.shop", 80, "PROPFIND", "/dav"),
                http(CART, "orders.shop", 80, "GET", "/dav")));
        assertThat(s.totals().unexpressibleMethod()).isEqualTo(1);
        assertThat(s.warnings()).singleElement().asString().contains("1 requests used HTTP methods a policy cannot name");
    }
}
