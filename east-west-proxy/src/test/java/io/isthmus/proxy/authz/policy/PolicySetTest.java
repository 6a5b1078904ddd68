package io.isthmus.proxy.authz.policy;

import static io.isthmus.proxy.authz.policy.TestPolicies.http;
import static io.isthmus.proxy.authz.policy.TestPolicies.set;
import static io.isthmus.proxy.authz.policy.TestPolicies.tcp;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.DenyReason;

/**
 * Decisions of the policy engine. Each row: policies (YAML), request, expected outcome written as
 * {@code allow <policy> <rule>}, {@code deny explicit-deny <policy>} or {@code deny no-matching-allow}.
 * Rows marked "Istio:" translate examples of Istio's AuthorizationPolicy reference and security tasks.
 */
class PolicySetTest {
    static final String CHECKOUT = "spiffe://a.acme.internal/ns/shop/sa/checkout";
    static final String CART = "spiffe://a.acme.internal/ns/shop/sa/cart";
    static final String SLEEP = "spiffe://cluster.local/ns/default/sa/sleep";
    static final String OTHER_TD = "spiffe://evil.example/ns/shop/sa/checkout";
    static final String ODD_PATH = "spiffe://a.acme.internal/gateway";

    static String policy(String ns, String name, String spec) {
        return """
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata:
                  name: %s
                  namespace: %s
                spec:
                %s
                ---
                """.formatted(name, ns, spec.indent(2));
    }

    static final String ALLOW_CHECKOUT = policy("billing", "allow-checkout", """
            action: ALLOW
            rules:
            - from:
              - source:
                  principals: ["spiffe://a.acme.internal/ns/shop/sa/checkout"]
              to:
              - operation:
                  methods: ["GET", "POST"]
                  paths: ["/v1/pay/*"]
            """);

    static Stream<Arguments> table() {
        return Stream.of(
                row("no policy at all: default deny", "", http(CHECKOUT, "payments.billing", 8080, "GET", "/"),
                        "deny no-matching-allow"),
                row("exact principal, method and path prefix match", ALLOW_CHECKOUT,
                        http(CHECKOUT, "payments.billing", 8080, "POST", "/v1/pay/42"),
                        "allow billing/allow-checkout rules[0]"),
                row("query string is not part of the path", ALLOW_CHECKOUT,
                        http(CHECKOUT, "payments.billing", 8080, "GET", "/v1/pay/42?x=/admin"),
                        "allow billing/allow-checkout rules[0]"),
                row("other principal", ALLOW_CHECKOUT, http(CART, "payments.billing", 8080, "GET", "/v1/pay/1"),
                        "deny no-matching-allow"),
                row("same path in another trust domain", ALLOW_CHECKOUT,
                        http(OTHER_TD, "payments.billing", 8080, "GET", "/v1/pay/1"), "deny no-matching-allow"),
                row("method not listed", ALLOW_CHECKOUT,
                        http(CHECKOUT, "payments.billing", 8080, "DELETE", "/v1/pay/1"), "deny no-matching-allow"),
                row("path outside prefix", ALLOW_CHECKOUT,
                        http(CHECKOUT, "payments.billing", 8080, "GET", "/v1/admin"), "deny no-matching-allow"),
                row("policy of namespace billing does not apply to namespace shop", ALLOW_CHECKOUT,
                        http(CHECKOUT, "payments.shop", 8080, "GET", "/v1/pay/1"), "deny no-matching-allow"),
                row("ALLOW with HTTP fields never matches L4 traffic (fail closed)", ALLOW_CHECKOUT,
                        tcp(CHECKOUT, "payments.billing", 8080), "deny no-matching-allow"),
                row("principal prefix", policy("billing", "shop-ns", """
                        rules:
                        - from:
                          - source: {principals: ["spiffe://a.acme.internal/ns/shop/*"]}
                        """), http(CART, "payments.billing", 80, "GET", "/"), "allow billing/shop-ns rules[0]"),
                row("principal prefix does not match a look-alike namespace", policy("billing", "shop-ns", """
                        rules:
                        - from:
                          - source: {principals: ["spiffe://a.acme.internal/ns/shop/*"]}
                        """), http("spiffe://a.acme.internal/ns/shopping/sa/x", "payments.billing", 80, "GET", "/"),
                        "deny no-matching-allow"),
                row("principal suffix matches any trust domain", policy("billing", "any-checkout", """
                        rules:
                        - from:
                          - source: {principals: ["*/sa/checkout"]}
                        """), http(OTHER_TD, "payments.billing", 80, "GET", "/"),
                        "allow billing/any-checkout rules[0]"),
                row("trustDomains narrows a suffix match", policy("billing", "any-checkout", """
                        rules:
                        - from:
                          - source: {principals: ["*/sa/checkout"], trustDomains: ["a.acme.internal"]}
                        """), http(OTHER_TD, "payments.billing", 80, "GET", "/"), "deny no-matching-allow"),
                row("trustDomains alone", policy("billing", "td-a", """
                        rules:
                        - from:
                          - source: {trustDomains: ["a.acme.internal"]}
                        """), tcp(CART, "payments.billing", 5432), "allow billing/td-a rules[0]"),
                row("principal * matches any authenticated caller", policy("billing", "anyone", """
                        rules:
                        - from:
                          - source: {principals: ["*"]}
                        """), tcp(ODD_PATH, "payments.billing", 5432), "allow billing/anyone rules[0]"),
                row("Istio: allow-nothing (spec: {}) denies", """
                        apiVersion: security.isthmus.io/v1alpha1
                        kind: AuthorizationPolicy
                        metadata: {name: allow-nothing, namespace: billing}
                        spec: {}
                        """, http(CHECKOUT, "payments.billing", 80, "GET", "/"), "deny no-matching-allow"),
                row("Istio: allow-all (one empty rule) allows", policy("billing", "allow-all", "rules:\n- {}\n"),
                        tcp(SLEEP, "payments.billing", 9000), "allow billing/allow-all rules[0]"),
                row("Istio: deny-all in the root namespace beats a namespace allow-all",
                        policy("isthmus-system", "deny-all", "action: DENY\nrules:\n- {}\n")
                                + policy("billing", "allow-all", "rules:\n- {}\n"),
                        http(CHECKOUT, "payments.billing", 80, "GET", "/"),
                        "deny explicit-deny isthmus-system/deny-all"),
                row("root namespace ALLOW applies mesh-wide",
                        policy("isthmus-system", "mesh-allow", "rules:\n- from:\n  - source: {trustDomains: [a.acme.internal]}\n"),
                        http(CHECKOUT, "anything.shop", 80, "GET", "/"), "allow isthmus-system/mesh-allow rules[0]"),
                row("DENY without rules matches nothing", policy("billing", "deny-none", "action: DENY\n")
                        + policy("billing", "allow-all", "rules:\n- {}\n"),
                        http(CHECKOUT, "payments.billing", 80, "GET", "/"), "allow billing/allow-all rules[0]"),
                row("Istio: httpbin ALLOW GET from sleep or namespace dev (translated)", policy("foo", "httpbin", """
                        action: ALLOW
                        rules:
                        - from:
                          - source:
                              principals: ["cluster.local/ns/default/sa/sleep"]
                          - source:
                              namespaces: ["dev"]
                          to:
                          - operation:
                              methods: ["GET"]
                        """), http(SLEEP, "httpbin.foo", 8000, "GET", "/ip"), "allow foo/httpbin rules[0]"),
                row("Istio: httpbin ALLOW, any principal of namespace dev", policy("foo", "httpbin", """
                        rules:
                        - from:
                          - source: {principals: ["cluster.local/ns/default/sa/sleep"]}
                          - source: {namespaces: ["dev"]}
                          to:
                          - operation: {methods: ["GET"]}
                        """), http("spiffe://cluster.local/ns/dev/sa/x", "httpbin.foo", 8000, "GET", "/ip"),
                        "allow foo/httpbin rules[0]"),
                row("Istio: httpbin ALLOW, POST is not allowed", policy("foo", "httpbin", """
                        rules:
                        - from:
                          - source: {principals: ["cluster.local/ns/default/sa/sleep"]}
                          to:
                          - operation: {methods: ["GET"]}
                        """), http(SLEEP, "httpbin.foo", 8000, "POST", "/ip"), "deny no-matching-allow"),
                row("Istio: DENY requests not from namespace foo (notNamespaces)", policy("foo", "httpbin-deny", """
                        action: DENY
                        rules:
                        - from:
                          - source: {notNamespaces: ["foo"]}
                        """) + policy("foo", "allow-all", "rules:\n- {}\n"),
                        http(SLEEP, "httpbin.foo", 8000, "GET", "/"), "deny explicit-deny foo/httpbin-deny"),
                row("Istio: notNamespaces lets own namespace through", policy("foo", "httpbin-deny", """
                        action: DENY
                        rules:
                        - from:
                          - source: {notNamespaces: ["foo"]}
                        """) + policy("foo", "allow-all", "rules:\n- {}\n"),
                        http("spiffe://cluster.local/ns/foo/sa/a", "httpbin.foo", 8000, "GET", "/"),
                        "allow foo/allow-all rules[0]"),
                row("DENY with notNamespaces denies an ID without a namespace (fail closed)",
                        policy("foo", "httpbin-deny", "action: DENY\nrules:\n- from:\n  - source: {notNamespaces: [foo]}\n")
                                + policy("foo", "allow-all", "rules:\n- {}\n"),
                        http(ODD_PATH, "httpbin.foo", 8000, "GET", "/"), "deny explicit-deny foo/httpbin-deny"),
                row("Istio: DENY GET /admin for TCP traffic denies the whole port (HTTP fields fail closed)",
                        policy("foo", "deny-admin", """
                                action: DENY
                                rules:
                                - to:
                                  - operation: {methods: ["GET"], paths: ["/admin*"], ports: [8000]}
                                """) + policy("foo", "allow-all", "rules:\n- {}\n"),
                        tcp(SLEEP, "httpbin.foo", 8000), "deny explicit-deny foo/deny-admin"),
                row("DENY scoped to a port does not affect another port",
                        policy("foo", "deny-admin", """
                                action: DENY
                                rules:
                                - to:
                                  - operation: {methods: ["GET"], ports: [8000]}
                                """) + policy("foo", "allow-all", "rules:\n- {}\n"),
                        tcp(SLEEP, "httpbin.foo", 9000), "allow foo/allow-all rules[0]"),
                row("notPorts", policy("foo", "not-admin-port", "rules:\n- to:\n  - operation: {notPorts: [\"9901\"]}\n"),
                        tcp(SLEEP, "httpbin.foo", 9901), "deny no-matching-allow"),
                row("path suffix", policy("foo", "html", "rules:\n- to:\n  - operation: {paths: [\"*.html\"]}\n"),
                        http(SLEEP, "web.foo", 80, "GET", "/a/index.html"), "allow foo/html rules[0]"),
                row("notPaths", policy("foo", "not-admin", "rules:\n- to:\n  - operation: {notPaths: [\"/admin*\"]}\n"),
                        http(SLEEP, "web.foo", 80, "GET", "/admin/users"), "deny no-matching-allow"),
                row("notPrincipals in DENY", policy("foo", "only-sleep", """
                        action: DENY
                        rules:
                        - from:
                          - source: {notPrincipals: ["cluster.local/ns/default/sa/sleep"]}
                        """) + policy("foo", "allow-all", "rules:\n- {}\n"),
                        http(CART, "web.foo", 80, "GET", "/"), "deny explicit-deny foo/only-sleep"),
                row("hosts match the mesh name case-insensitively",
                        policy("foo", "hosts", "rules:\n- to:\n  - operation: {hosts: [\"WEB.foo.svc.clusterset.local\"]}\n"),
                        http(SLEEP, "web.foo", 80, "GET", "/"), "allow foo/hosts rules[0]"),
                row("hosts suffix wildcard", policy("foo", "hosts",
                        "rules:\n- to:\n  - operation: {hosts: [\"*.foo.svc.clusterset.local\"]}\n"),
                        http(SLEEP, "web.foo", 80, "GET", "/"), "allow foo/hosts rules[0]"),
                row("hosts prefix wildcard", policy("foo", "hosts",
                        "rules:\n- to:\n  - operation: {hosts: [\"web.*\"]}\n"),
                        http(SLEEP, "web.foo", 80, "GET", "/"), "allow foo/hosts rules[0]"),
                row("hosts prefix wildcard, another service", policy("foo", "hosts",
                        "rules:\n- to:\n  - operation: {hosts: [\"web.*\"]}\n"),
                        http(SLEEP, "api.foo", 80, "GET", "/"), "deny no-matching-allow"),
                row("DENY a host on one port: hosts without the port, ports beside it (the port matches)",
                        policy("foo", "allow-all", "rules:\n- {}\n") + policy("foo", "no-8080", """
                                action: DENY
                                rules:
                                - to: [{operation: {hosts: ["web.foo.svc.clusterset.local"], ports: [8080]}}]
                                """), http(SLEEP, "web.foo", 8080, "GET", "/"), "deny explicit-deny foo/no-8080"),
                row("DENY a host on one port: another port is not denied",
                        policy("foo", "allow-all", "rules:\n- {}\n") + policy("foo", "no-8080", """
                                action: DENY
                                rules:
                                - to: [{operation: {hosts: ["web.foo.svc.clusterset.local"], ports: [8080]}}]
                                """), http(SLEEP, "web.foo", 80, "GET", "/"), "allow foo/allow-all rules[0]"),
                row("namespaces: a VM's ID /ns/<ns>/sa/<vm> is in <ns>",
                        policy("foo", "from-shop", "rules:\n- from: [{source: {namespaces: [shop]}}]\n"),
                        http("spiffe://east.example/ns/shop/sa/db-1", "web.foo", 80, "GET", "/"),
                        "allow foo/from-shop rules[0]"),
                row("namespaces: a VM workload's ID /ns/<ns>/sa/<vm>/<workload> is in <ns>",
                        policy("foo", "from-shop", "rules:\n- from: [{source: {namespaces: [shop]}}]\n"),
                        http("spiffe://east.example/ns/shop/sa/db-1/billing", "web.foo", 80, "GET", "/"),
                        "allow foo/from-shop rules[0]"),
                row("namespaces: /ns/shop without /sa/ has no namespace (ALLOW does not match)",
                        policy("foo", "from-shop", "rules:\n- from: [{source: {namespaces: [shop]}}]\n"),
                        http("spiffe://a.acme.internal/ns/shop", "web.foo", 80, "GET", "/"), "deny no-matching-allow"),
                row("namespaces: /ns/shop/workload/x has no namespace (ALLOW does not match)",
                        policy("foo", "from-shop", "rules:\n- from: [{source: {namespaces: [shop]}}]\n"),
                        http("spiffe://a.acme.internal/ns/shop/workload/x", "web.foo", 80, "GET", "/"),
                        "deny no-matching-allow"),
                row("namespaces: the first /ns/<ns>/sa/ counts: /ns/x/sa/y/ns/shop/sa/z is not in shop",
                        policy("foo", "from-shop", "rules:\n- from: [{source: {namespaces: [shop]}}]\n"),
                        http("spiffe://a.acme.internal/ns/x/sa/y/ns/shop/sa/z", "web.foo", 80, "GET", "/"),
                        "deny no-matching-allow"),
                row("notNamespaces in ALLOW: /ns/shop (no /sa/) has no namespace, so it does not match",
                        policy("foo", "not-foo", "rules:\n- from: [{source: {notNamespaces: [foo]}}]\n"),
                        http("spiffe://a.acme.internal/ns/shop", "web.foo", 80, "GET", "/"), "deny no-matching-allow"),
                row("notNamespaces in DENY: /ns/shop (no /sa/) has no namespace, so it fires (fail closed)",
                        policy("foo", "allow-all", "rules:\n- {}\n")
                                + policy("foo", "only-foo", "action: DENY\nrules:\n- from: [{source: {notNamespaces: [foo]}}]\n"),
                        http("spiffe://a.acme.internal/ns/foo", "web.foo", 80, "GET", "/"),
                        "deny explicit-deny foo/only-foo"),
                row("selector.services narrows the policy to named services",
                        policy("foo", "only-web", "selector: {services: [web]}\nrules:\n- {}\n"),
                        http(SLEEP, "api.foo", 80, "GET", "/"), "deny no-matching-allow"),
                row("second rule decides and is named",
                        policy("foo", "two-rules", """
                                rules:
                                - from: [{source: {principals: ["nobody/x"]}}]
                                - to: [{operation: {methods: ["GET"]}}]
                                """), http(SLEEP, "web.foo", 80, "GET", "/"), "allow foo/two-rules rules[1]"));
    }

    static Arguments row(String name, String yaml, AccessRequest request, String expected) {
        return Arguments.of(name, yaml, request, expected);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void decides(String name, String yaml, AccessRequest request, String expected) {
        Decision d = set(yaml).decide(request);
        assertThat(describe(d)).as(name).isEqualTo(expected);
    }

    static String describe(Decision d) {
        return switch (d) {
            case Decision.Allowed a -> "allow " + a.policy() + " " + a.rule();
            case Decision.Denied x when x.reason() == DenyReason.EXPLICIT_DENY ->
                    "deny " + x.reason().code() + " " + x.policy();
            case Decision.Denied x -> "deny " + x.reason().code();
        };
    }

    @Test
    void auditMatchesAreRecordedButNeverChangeTheDecision() {
        PolicySet s = set(ALLOW_CHECKOUT + policy("billing", "audit-writes", """
                action: AUDIT
                rules:
                - to: [{operation: {methods: ["POST", "PUT", "DELETE"]}}]
                """) + policy("isthmus-system", "audit-foreign", """
                action: AUDIT
                rules:
                - from: [{source: {notTrustDomains: ["a.acme.internal"]}}]
                """));
        Decision allowed = s.decide(http(CHECKOUT, "payments.billing", 80, "POST", "/v1/pay/1"));
        assertThat(allowed.allowed()).isTrue();
        assertThat(allowed.auditMatches()).containsExactly("billing/audit-writes");

        Decision denied = s.decide(http(OTHER_TD, "payments.billing", 80, "DELETE", "/v1/pay/1"));
        assertThat(denied.allowed()).isFalse();
        assertThat(denied.auditMatches()).containsExactly("isthmus-system/audit-foreign", "billing/audit-writes");

        assertThat(s.decide(http(CHECKOUT, "payments.billing", 80, "GET", "/v1/pay/1")).auditMatches()).isEmpty();
    }

    @Test
    void defaultDenyExplainsWhetherAnyAllowPolicyApplied() {
        Decision none = set("").decide(http(CHECKOUT, "payments.billing", 80, "GET", "/"));
        assertThat(none).isInstanceOfSatisfying(Decision.Denied.class, d -> {
            assertThat(d.policy()).isEmpty();
            assertThat(d.detail()).startsWith("no ALLOW policy applies to payments.billing")
                    .contains("denied by default");
        });
        Decision some = set(ALLOW_CHECKOUT).decide(http(CART, "payments.billing", 80, "GET", "/"));
        assertThat(some).isInstanceOfSatisfying(Decision.Denied.class, d -> assertThat(d.detail())
                .startsWith("none of the 1 ALLOW policies for payments.billing matched " + CART));
    }

    @Test
    void explicitDenyNamesPolicyAndRule() {
        Decision d = set(policy("billing", "no-cart", """
                action: DENY
                rules:
                - from: [{source: {principals: ["nobody/x"]}}]
                - from: [{source: {principals: ["*/sa/cart"]}}]
                """) + policy("billing", "allow-all", "rules:\n- {}\n"))
                .decide(http(CART, "payments.billing", 80, "GET", "/x"));
        assertThat(d).isEqualTo(new Decision.Denied(DenyReason.EXPLICIT_DENY, "billing/no-cart", "rules[1]",
                "DENY policy billing/no-cart rules[1] matched " + CART
                        + " -> payments.billing.svc.clusterset.local:80 GET /x",
                java.util.List.of()));
    }

    @Test
    void authorizerSwapsWholeSets() {
        PolicyAuthorizer authz = new PolicyAuthorizer(PolicySet.empty("isthmus-system"));
        AccessRequest r = http(CHECKOUT, "payments.billing", 80, "GET", "/v1/pay/1");
        assertThat(authz.authorize(r).allowed()).isFalse();
        authz.replace(set(ALLOW_CHECKOUT));
        assertThat(authz.authorize(r).allowed()).isTrue();
    }
}
