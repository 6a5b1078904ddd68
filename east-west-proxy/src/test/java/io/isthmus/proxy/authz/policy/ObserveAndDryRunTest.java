package io.isthmus.proxy.authz.policy;

import static io.isthmus.proxy.authz.policy.PolicySetTest.policy;
import static io.isthmus.proxy.authz.policy.TestPolicies.http;
import static io.isthmus.proxy.authz.policy.TestPolicies.set;
import static io.isthmus.proxy.authz.policy.TestPolicies.tcp;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;

/**
 * Observe mode and dry-run policies: what is enforced, what the policies would have decided in observe mode, and
 * what the dry-run policies decide. Each row: policies, request, then the three verdicts written as in
 * {@link PolicySetTest} ({@code -} when absent). A would-be verdict never changes the enforced one.
 */
class ObserveAndDryRunTest {
    static final String CHECKOUT = PolicySetTest.CHECKOUT;
    static final String CART = PolicySetTest.CART;

    static final String ALLOW_CHECKOUT = PolicySetTest.ALLOW_CHECKOUT;
    static final String OBSERVE_BILLING = policy("billing", "observe", "mode: OBSERVE\n");
    static final String ALLOW_ALL = policy("billing", "allow-all", "rules:\n- {}\n");
    /** A guardrail of the mesh's owner: a DENY in the root namespace. */
    static final String MESH_DENY_CART = policy("isthmus-system", "no-cart",
            "action: DENY\nrules:\n- from:\n  - source: {principals: [\"*/sa/cart\"]}\n");

    static String dryRun(String ns, String name, String spec) {
        return policy(ns, name, spec).replace("  namespace: " + ns + "\n",
                "  namespace: " + ns + "\n  annotations: {security.isthmus.io/dry-run: \"true\"}\n");
    }

    /** The same policy, made dry-run by Istio's annotation {@code istio.io/dry-run} (and/or Isthmus's). */
    static String dryRun(String ns, String name, String spec, String annotations) {
        return policy(ns, name, spec).replace("  namespace: " + ns + "\n",
                "  namespace: " + ns + "\n  annotations: {" + annotations + "}\n");
    }

    static final String DRY_DENY_DELETE = dryRun("billing", "no-delete", """
            action: DENY
            rules:
            - to:
              - operation: {methods: [DELETE]}
            """);
    static final String DRY_ONLY_CHECKOUT = dryRun("billing", "only-checkout", """
            rules:
            - from:
              - source: {principals: ["spiffe://a.acme.internal/ns/shop/sa/checkout"]}
            """);

    static Stream<Arguments> table() {
        AccessRequest pay = http(CHECKOUT, "payments.billing", 80, "POST", "/v1/pay/1");
        AccessRequest cartPay = http(CART, "payments.billing", 80, "GET", "/v1/pay/1");
        AccessRequest delete = http(CHECKOUT, "payments.billing", 80, "DELETE", "/v1/pay/1");
        return Stream.of(
                row("enforced: no would-be verdicts", ALLOW_CHECKOUT, pay, "allow billing/allow-checkout rules[0]",
                        "-", "-"),
                row("observe, no ALLOW: allowed, would be denied by default", OBSERVE_BILLING, pay,
                        "allow billing/observe spec.mode", "deny no-matching-allow", "-"),
                row("observe with a matching ALLOW: would be allowed by it", OBSERVE_BILLING + ALLOW_CHECKOUT, pay,
                        "allow billing/observe spec.mode", "allow billing/allow-checkout rules[0]", "-"),
                row("observe with a matching DENY: allowed, would be denied by it",
                        OBSERVE_BILLING + ALLOW_ALL + policy("billing", "deny-cart",
                                "action: DENY\nrules:\n- from:\n  - source: {principals: [\"*/sa/cart\"]}\n"),
                        cartPay, "allow billing/observe spec.mode", "deny explicit-deny billing/deny-cart rules[0]",
                        "-"),
                row("observe of one service leaves the others of the namespace enforced",
                        policy("billing", "observe-ledger", "mode: OBSERVE\nselector: {services: [ledger]}\n"), pay,
                        "deny no-matching-allow", "-", "-"),
                row("observe of one service", policy("billing", "observe-payments",
                        "mode: OBSERVE\nselector: {services: [payments]}\n"), tcp(CART, "payments.billing", 5432),
                        "allow billing/observe-payments spec.mode", "deny no-matching-allow", "-"),
                row("a service's ENFORCE overrides its namespace's OBSERVE",
                        OBSERVE_BILLING + policy("billing", "enforce-payments",
                                "mode: ENFORCE\nselector: {services: [payments]}\n"), pay, "deny no-matching-allow",
                        "-", "-"),
                row("a namespace's ENFORCE overrides the mesh's OBSERVE",
                        policy("isthmus-system", "observe-mesh", "mode: OBSERVE\n")
                                + policy("billing", "enforce", "mode: ENFORCE\n"), pay, "deny no-matching-allow", "-",
                        "-"),
                row("a service's OBSERVE overrides its namespace's ENFORCE",
                        policy("billing", "enforce", "mode: ENFORCE\n") + policy("billing", "observe-payments",
                                "mode: OBSERVE\nselector: {services: [payments]}\n"), pay,
                        "allow billing/observe-payments spec.mode", "deny no-matching-allow", "-"),
                row("a namespace's OBSERVE overrides the mesh's ENFORCE",
                        policy("isthmus-system", "enforce-mesh", "mode: ENFORCE\n") + OBSERVE_BILLING, pay,
                        "allow billing/observe spec.mode", "deny no-matching-allow", "-"),
                row("the mesh's OBSERVE applies where nothing more specific is said",
                        policy("isthmus-system", "observe-mesh", "mode: OBSERVE\n"), pay,
                        "allow isthmus-system/observe-mesh spec.mode", "deny no-matching-allow", "-"),
                row("OBSERVE and ENFORCE at the same scope: ENFORCE wins (fails safe)",
                        OBSERVE_BILLING + policy("billing", "zz-enforce", "mode: ENFORCE\n"), pay,
                        "deny no-matching-allow", "-", "-"),
                row("a namespace's OBSERVE does not lift the mesh's DENY (root namespace): still denied",
                        OBSERVE_BILLING + ALLOW_ALL + MESH_DENY_CART, cartPay,
                        "deny explicit-deny isthmus-system/no-cart rules[0]", "-", "-"),
                row("nor does a service's OBSERVE",
                        policy("billing", "observe-payments", "mode: OBSERVE\nselector: {services: [payments]}\n")
                                + MESH_DENY_CART, cartPay, "deny explicit-deny isthmus-system/no-cart rules[0]", "-",
                        "-"),
                row("the namespace's own DENY matching too: the mesh's DENY is the one that denies",
                        OBSERVE_BILLING + ALLOW_ALL + policy("billing", "deny-cart",
                                "action: DENY\nrules:\n- from:\n  - source: {principals: [\"*/sa/cart\"]}\n")
                                + MESH_DENY_CART, cartPay, "deny explicit-deny isthmus-system/no-cart rules[0]", "-",
                        "-"),
                row("a namespace's OBSERVE still observes what the mesh's DENY does not match",
                        OBSERVE_BILLING + MESH_DENY_CART, pay, "allow billing/observe spec.mode",
                        "deny no-matching-allow", "-"),
                row("the mesh's OBSERVE (root namespace) lifts the mesh's DENY too: its owner chose to",
                        policy("isthmus-system", "observe-mesh", "mode: OBSERVE\n") + MESH_DENY_CART, cartPay,
                        "allow isthmus-system/observe-mesh spec.mode",
                        "deny explicit-deny isthmus-system/no-cart rules[0]", "-"),
                row("a mode policy of another namespace does not apply",
                        policy("shop", "observe", "mode: OBSERVE\n"), pay, "deny no-matching-allow", "-", "-"),
                row("dry-run DENY that matches: would deny, changes nothing", ALLOW_CHECKOUT + DRY_DENY_DELETE,
                        delete, "deny no-matching-allow", "-", "deny explicit-deny billing/no-delete rules[0]"),
                row("dry-run DENY matching an allowed request", ALLOW_ALL + DRY_DENY_DELETE, delete,
                        "allow billing/allow-all rules[0]", "-", "deny explicit-deny billing/no-delete rules[0]"),
                row("dry-run DENY that does not match: would allow (no policy)", ALLOW_ALL + DRY_DENY_DELETE, pay,
                        "allow billing/allow-all rules[0]", "-", "allow"),
                row("a tighter dry-run ALLOW next to the broad one in force: would deny the caller it leaves out",
                        ALLOW_ALL + DRY_ONLY_CHECKOUT, cartPay, "allow billing/allow-all rules[0]", "-",
                        "deny no-matching-allow"),
                row("the tighter dry-run ALLOW lets its own caller through", ALLOW_ALL + DRY_ONLY_CHECKOUT, pay,
                        "allow billing/allow-all rules[0]", "-", "allow billing/only-checkout rules[0]"),
                row("a dry-run ALLOW never allows: the enforced default deny stands", DRY_ONLY_CHECKOUT, pay,
                        "deny no-matching-allow", "-", "allow billing/only-checkout rules[0]"),
                row("a dry-run policy of another namespace does not apply",
                        ALLOW_ALL + dryRun("shop", "no-delete", "action: DENY\nrules:\n- {}\n"), delete,
                        "allow billing/allow-all rules[0]", "-", "-"),
                row("observe and dry-run together", OBSERVE_BILLING + ALLOW_CHECKOUT + DRY_DENY_DELETE, delete,
                        "allow billing/observe spec.mode", "deny no-matching-allow",
                        "deny explicit-deny billing/no-delete rules[0]"),
                row("Istio's istio.io/dry-run: \"true\" makes an ALLOW dry-run: it never allows",
                        dryRun("billing", "try-open", "rules:\n- {}\n", "istio.io/dry-run: \"true\""), pay,
                        "deny no-matching-allow", "-", "allow billing/try-open rules[0]"),
                row("Istio's istio.io/dry-run: \"true\" makes a DENY dry-run: it never denies",
                        ALLOW_ALL + dryRun("billing", "no-delete", "action: DENY\nrules:\n- {}\n",
                                "istio.io/dry-run: \"true\""), delete, "allow billing/allow-all rules[0]", "-",
                        "deny explicit-deny billing/no-delete rules[0]"),
                row("both dry-run annotations \"true\": dry-run",
                        dryRun("billing", "try-open", "rules:\n- {}\n",
                                "istio.io/dry-run: \"true\", security.isthmus.io/dry-run: \"true\""), pay,
                        "deny no-matching-allow", "-", "allow billing/try-open rules[0]"),
                row("istio.io/dry-run: \"false\" is enforced",
                        dryRun("billing", "open", "rules:\n- {}\n", "istio.io/dry-run: \"false\""), pay,
                        "allow billing/open rules[0]", "-", "-"),
                row("both dry-run annotations \"false\": enforced",
                        dryRun("billing", "open", "rules:\n- {}\n",
                                "istio.io/dry-run: \"false\", security.isthmus.io/dry-run: \"false\""), pay,
                        "allow billing/open rules[0]", "-", "-"),
                row("dry-run DENY with HTTP fields matches TCP (fails closed, as enforcement would)",
                        ALLOW_ALL + DRY_DENY_DELETE, tcp(CHECKOUT, "payments.billing", 5432),
                        "allow billing/allow-all rules[0]", "-", "deny explicit-deny billing/no-delete rules[0]"));
    }

    static Arguments row(String name, String yaml, AccessRequest request, String enforced, String observed,
            String dryRun) {
        return Arguments.of(name, yaml, request, enforced, observed, dryRun);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void decides(String name, String yaml, AccessRequest request, String enforced, String observed, String dryRun) {
        Decision d = set(yaml).decide(request);
        assertThat(describe(d)).as("enforced").isEqualTo(enforced);
        assertThat(d.observed().map(ObserveAndDryRunTest::describe).orElse("-")).as("observed").isEqualTo(observed);
        assertThat(d.dryRun().map(ObserveAndDryRunTest::describe).orElse("-")).as("dry run").isEqualTo(dryRun);
        assertThat(d.observing()).isEqualTo(!observed.equals("-"));
    }

    @Test
    void observeModeCarriesTheAuditMatchesOfThePolicies() {
        Decision d = set(OBSERVE_BILLING + policy("isthmus-system", "audit-all", "action: AUDIT\nrules:\n- {}\n"))
                .decide(http(CART, "payments.billing", 80, "GET", "/"));
        assertThat(d.auditMatches()).containsExactly("isthmus-system/audit-all");
        assertThat(d.observed().orElseThrow().auditMatches()).containsExactly("isthmus-system/audit-all");
    }

    @Test
    void aWouldBeVerdictIsPlain() {
        Decision nested = new Decision.Allowed("a/b", "rules[0]", List.of(), Optional.empty(),
                Optional.of(new Decision.Allowed("", "", List.of())));
        assertThatThrownBy(() -> new Decision.Allowed("a/b", "spec.mode", List.of(),
                Optional.of(nested), Optional.empty())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("observed must be a plain verdict");
    }

    static String describe(Decision d) {
        return switch (d) {
            case Decision.Allowed a -> a.policy().isEmpty() ? "allow" : "allow " + a.policy() + " " + a.rule();
            case Decision.Denied x -> "deny " + x.reason().code() + (x.policy().isEmpty() ? "" : " " + x.policy()
                    + " " + x.rule());
        };
    }
}
