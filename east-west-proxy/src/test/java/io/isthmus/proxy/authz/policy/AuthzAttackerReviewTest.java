package io.isthmus.proxy.authz.policy;

import static io.isthmus.proxy.authz.policy.PolicySetTest.describe;
import static io.isthmus.proxy.authz.policy.PolicySetTest.policy;
import static io.isthmus.proxy.authz.policy.TestPolicies.http;
import static io.isthmus.proxy.authz.policy.TestPolicies.set;
import static io.isthmus.proxy.authz.policy.TestPolicies.tcp;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.http.path.PathNormalization;
import io.isthmus.proxy.http.path.PathNormalizer;
import io.isthmus.proxy.http.path.PathVerdict;

/**
 * Security review (attacker's view): each row is a policy an Istio user would write, a request, and the outcome that
 * user expects. {@link #holes} rows failed before their fixes (a request allowed that should be denied, or a DENY that
 * did not fire); {@link #safe} rows record suspicions that were checked and found to hold.
 *
 * <p>H5 (a namespace's observe mode lifting a root-namespace DENY) is fixed in {@code PolicySet.decide}, its rows in
 * {@code ObserveAndDryRunTest}. H2/H2b (a lower-case method past a DENY on {@code DELETE}) are refused before policy
 * ({@code lower-case-method}: {@code RequestValidatorTest}, {@code HostileHttpTest}, {@code AuthzAttackerListenersTest}),
 * so policy never sees such a method. The others became table rows of the engine's own tests: H1 (empty lists) and H4
 * (hosts with a port) {@code PolicyParserTest.refusedExactly}; H3 ({@code istio.io/dry-run})
 * {@code ObserveAndDryRunTest} and {@code PolicyParserTest}; H6 (namespace of an ID not shaped
 * {@code /ns/<ns>/sa/<sa>}) {@code SourceTest} and {@code PolicySetTest}; H7 (duplicate YAML keys) and the merge key
 * {@code PolicyYamlTest}.
 */
class AuthzAttackerReviewTest {
    static final String CHECKOUT = "spiffe://a.acme.internal/ns/shop/sa/checkout";
    static final String CART = "spiffe://a.acme.internal/ns/shop/sa/cart";
    static final String EVIL = "spiffe://evil.example/ns/attacker/sa/x";
    static final String ALLOW_ALL = policy("billing", "allow-all", "rules:\n- {}\n");

    static Stream<Arguments> holes() {
        return Stream.of(
                row("H5 a namespace's own OBSERVE mode policy must not lift a root-namespace DENY",
                        ALLOW_ALL + policy("isthmus-system", "mesh-no-cart", """
                                action: DENY
                                rules:
                                - from: [{source: {principals: ["*/sa/cart"]}}]
                                """) + policy("billing", "observe", "mode: OBSERVE\n"),
                        http(CART, "payments.billing", 80, "GET", "/"),
                        "deny explicit-deny isthmus-system/mesh-no-cart"));
    }

    static Stream<Arguments> safe() {
        return Stream.of(
                row("S principal prefix crosses trust domains exactly as Istio's prefix match does",
                        policy("billing", "alpha", """
                                rules:
                                - from: [{source: {principals: ["spiffe://alpha.acme.internal*"]}}]
                                """), http("spiffe://alpha.acme.internal.evil/ns/x/sa/y", "payments.billing", 80,
                                "GET", "/"),
                        "allow billing/alpha rules[0]"),
                row("S principal prefix with the trust domain and '/' does not cross",
                        policy("billing", "alpha", """
                                rules:
                                - from: [{source: {principals: ["spiffe://alpha.acme.internal/*"]}}]
                                """), http("spiffe://alpha.acme.internal.evil/ns/x/sa/y", "payments.billing", 80,
                                "GET", "/"),
                        "deny no-matching-allow"),
                row("S namespace is the first /ns/ segment: /ns/x/sa/y/ns/shop is not in shop",
                        policy("billing", "from-shop", """
                                rules:
                                - from: [{source: {namespaces: [shop]}}]
                                """), http("spiffe://a.acme.internal/ns/x/sa/y/ns/shop/sa/z", "payments.billing", 80,
                                "GET", "/"),
                        "deny no-matching-allow"),
                row("S ALLOW notNamespaces with an ID without namespace does not match",
                        policy("billing", "not-shop", """
                                rules:
                                - from: [{source: {notNamespaces: [shop]}}]
                                """), http("spiffe://a.acme.internal/vm/web", "payments.billing", 80, "GET", "/"),
                        "deny no-matching-allow"),
                row("S DENY notNamespaces with an ID without namespace fires",
                        ALLOW_ALL + policy("billing", "only-shop", """
                                action: DENY
                                rules:
                                - from: [{source: {notNamespaces: [shop]}}]
                                """), http("spiffe://a.acme.internal/vm/web", "payments.billing", 80, "GET", "/"),
                        "deny explicit-deny billing/only-shop"),
                row("S ALLOW notPaths on TCP does not match",
                        policy("billing", "np", "rules:\n- to: [{operation: {notPaths: [\"/admin*\"]}}]\n"),
                        tcp(CHECKOUT, "payments.billing", 5432), "deny no-matching-allow"),
                row("S DENY methods on TCP fires",
                        ALLOW_ALL + policy("billing", "dm", "action: DENY\nrules:\n- to: [{operation: {methods: [DELETE]}}]\n"),
                        tcp(CHECKOUT, "payments.billing", 5432), "deny explicit-deny billing/dm"),
                row("S hosts are case-insensitive",
                        ALLOW_ALL + policy("billing", "dh", "action: DENY\nrules:\n- to: [{operation: {hosts: [\"PAYMENTS.billing.svc.clusterset.local\"]}}]\n"),
                        http(CART, "payments.billing", 80, "GET", "/"), "deny explicit-deny billing/dh"),
                row("S policy of another namespace does not apply",
                        policy("shop", "allow-all", "rules:\n- {}\n"),
                        http(CART, "payments.billing", 80, "GET", "/"), "deny no-matching-allow"),
                row("S selector of another service does not apply",
                        policy("billing", "ledger", "selector: {services: [ledger]}\nrules:\n- {}\n"),
                        http(CART, "payments.billing", 80, "GET", "/"), "deny no-matching-allow"),
                row("S root-namespace DENY beats a namespace ALLOW",
                        ALLOW_ALL + policy("isthmus-system", "mesh-no-cart", "action: DENY\nrules:\n- from: [{source: {principals: [\"*/sa/cart\"]}}]\n"),
                        http(CART, "payments.billing", 80, "GET", "/"), "deny explicit-deny isthmus-system/mesh-no-cart"),
                row("S DENY path template fires on an ambiguous path (normalization none)",
                        ALLOW_ALL + policy("billing", "dt", "action: DENY\nrules:\n- to: [{operation: {paths: [\"/admin/{**}\"]}}]\n"),
                        http(CART, "payments.billing", 80, "GET", "/admin/%2e%2e"), "deny explicit-deny billing/dt"));
    }

    static Arguments row(String name, String yaml, AccessRequest request, String expected) {
        return Arguments.of(name, yaml, request, expected);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("holes")
    void holes(String name, String yaml, AccessRequest request, String expected) {
        assertThat(describe(set(yaml).decide(request))).as(name).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("safe")
    void safe(String name, String yaml, AccessRequest request, String expected) {
        assertThat(describe(set(yaml).decide(request))).as(name).isEqualTo(expected);
    }

    static Stream<Arguments> paths() {
        return Stream.of(
                Arguments.of("/public/../admin", "/admin"), Arguments.of("/%61dmin", "/admin"),
                Arguments.of("//admin", "/admin"), Arguments.of("/admin/./", "/admin/"),
                Arguments.of("/public/%2e%2e/admin", "/admin"), Arguments.of("/public/%2E%2e/admin", "/admin"),
                Arguments.of("/./admin?x=/../y", "/admin"), Arguments.of("/public/..%2Fadmin", "refused"),
                Arguments.of("/admin;x=1", "refused"), Arguments.of("/admin#x", "refused"),
                Arguments.of("/admin\\x", "refused"), Arguments.of("/%2561dmin", "/%2561dmin"));
    }

    /** S the default path normalization gives policy the path a backend serves. */
    @ParameterizedTest(name = "S normalized {0} -> {1}")
    @MethodSource("paths")
    void defaultNormalization(String target, String policyPath) {
        PathVerdict v = new PathNormalizer(PathNormalization.DEFAULT).normalize(target);
        String got = v instanceof PathVerdict.Normalized n ? n.path() : "refused";
        assertThat(got).isEqualTo(policyPath);
    }
}
