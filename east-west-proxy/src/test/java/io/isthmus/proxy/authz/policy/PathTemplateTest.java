package io.isthmus.proxy.authz.policy;

import static io.isthmus.proxy.authz.policy.PolicySetTest.CHECKOUT;
import static io.isthmus.proxy.authz.policy.PolicySetTest.policy;
import static io.isthmus.proxy.authz.policy.TestPolicies.http;
import static io.isthmus.proxy.authz.policy.TestPolicies.set;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.DenyReason;

/**
 * Path templates as Istio writes them ({@code {*}} one segment, {@code {**}} the rest): what they match, and the
 * templates refused. Istio's examples: "/foo/{*}" matches "/foo/bar" but not "/foo/bar/baz"; "/foo/{**}/" is invalid
 * ({@code {**}} must be last here); "/foo/{*}/bar" matches "/foo/buzz/bar".
 */
class PathTemplateTest {

    static Stream<Arguments> matches() {
        return Stream.of(
                Arguments.of("/foo/{*}", "/foo/bar", true),
                Arguments.of("/foo/{*}", "/foo/bar/baz", false),
                Arguments.of("/foo/{*}", "/foo/", false),
                Arguments.of("/foo/{*}", "/foo", false),
                Arguments.of("/foo/{*}/bar", "/foo/buzz/bar", true),
                Arguments.of("/foo/{*}/bar", "/foo//bar", false),
                Arguments.of("/foo/{*}/bar", "/foo/a/b/bar", false),
                Arguments.of("/foo/{*}/bar", "/foo/buzz/bar/", false),
                Arguments.of("/foo/{**}", "/foo/bar/baz", true),
                Arguments.of("/foo/{**}", "/foo/bar", true),
                Arguments.of("/foo/{**}", "/foo/", false),
                Arguments.of("/foo/{**}", "/foo", false),
                Arguments.of("/foo/{**}", "/foobar/x", false),
                Arguments.of("/{*}", "/x", true),
                Arguments.of("/{*}", "/", false),
                Arguments.of("/{**}", "/a/b", true),
                Arguments.of("/orders/{*}/items/{*}", "/orders/1/items/2", true),
                Arguments.of("/orders/{*}/items/{*}", "/orders/1/items", false),
                Arguments.of("/Orders/{*}", "/orders/1", false),
                Arguments.of("/a/{*}", "a/b", false),
                Arguments.of("/a/{*}", "", false),
                Arguments.of("/a/{*}", "/a/%2F", true),
                Arguments.of("/a/", "/a/", true),
                Arguments.of("/a/", "/a", false));
    }

    @ParameterizedTest(name = "{0} vs {1}: {2}")
    @MethodSource("matches")
    void matchesWholeSegments(String template, String path, boolean expected) {
        assertThat(PathTemplate.error(template)).isNull();
        assertThat(PathTemplate.matches(template, path)).isEqualTo(expected);
        assertThat(StringMatch.pathTemplate(template).matches(path)).isEqualTo(expected);
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of("{*}", "must start with '/'"),
                Arguments.of("/foo/{**}/", "'{**}' must be the last segment"),
                Arguments.of("/foo/{**}/bar", "'{**}' must be the last segment"),
                Arguments.of("/foo{*}", "segment \"foo{*}\""),
                Arguments.of("/foo/{*}x", "segment \"{*}x\""),
                Arguments.of("/foo/{x}", "segment \"{x}\""),
                Arguments.of("/foo/{***}", "segment \"{***}\""),
                Arguments.of("/foo/*/{*}", "segment \"*\""),
                Arguments.of("/foo/}", "segment \"}\""));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalid")
    void refusesWhatIsNotATemplate(String template, String expected) {
        assertThat(PathTemplate.isTemplate(template) || template.contains("*")).isTrue();
        assertThat(PathTemplate.error(template)).contains(expected);
    }

    @Test
    void aTenThousandSegmentPathIsMatchedWithoutRecursion() {
        String deep = "/a".repeat(10_000);
        assertThat(PathTemplate.matches("/a/{**}", deep)).isTrue();
        assertThat(PathTemplate.matches("/a/{*}", deep)).isFalse();
        assertThat(PathTemplate.matches("/{*}" .repeat(10_000), deep)).isTrue();
    }

    /**
     * Paths a backend could split into other segments than the template matcher does (they reach policy only with
     * path normalization "none"), beside look-alikes that are plain data.
     */
    static Stream<Arguments> ambiguity() {
        return Stream.of(
                Arguments.of("/orders/42/items", false),
                Arguments.of("/", false),
                Arguments.of("", false),
                Arguments.of("/orders/.../items", false),
                Arguments.of("/orders/.well-known", false),
                Arguments.of("/orders/v1.2", false),
                Arguments.of("/orders/%2Ea", false),
                Arguments.of("/orders/%41", false),
                Arguments.of("/orders/%2", false),
                Arguments.of("/orders/a;b", false),
                Arguments.of("/orders/..", true),
                Arguments.of("/orders/.", true),
                Arguments.of("/orders/./items", true),
                Arguments.of("/orders/../admin", true),
                Arguments.of("/..", true),
                Arguments.of("/orders/%2e%2E/admin", true),
                Arguments.of("/orders/.%2e", true),
                Arguments.of("/orders/%2e", true),
                Arguments.of("/orders/..;/admin", true),
                Arguments.of("/orders/..;jsessionid=1", true),
                Arguments.of("/orders/a%2Fb", true),
                Arguments.of("/orders/a%2fb", true),
                Arguments.of("/orders/a%5Cb", true),
                Arguments.of("/orders/a%5cb", true),
                Arguments.of("/orders/a\\b", true),
                Arguments.of("/orders/a%252Fb", false));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("ambiguity")
    void knowsWhichPathsABackendCouldSplitDifferently(String path, boolean expected) {
        assertThat(PathTemplate.ambiguous(path)).isEqualTo(expected);
        assertThat(StringMatch.pathTemplate("/orders/{*}").decidable(path)).isEqualTo(!expected);
        assertThat(StringMatch.parse("/orders/*", false).orElseThrow().decidable(path)).isTrue();
    }

    static final String ALLOW_ONE_ORDER = policy("shop", "orders", """
            rules:
            - to:
              - operation: {paths: ["/orders/{*}", "/public/{**}"]}
            """);
    static final String DENY_ADMIN = policy("shop", "allow-all", "rules:\n- {}\n") + policy("shop", "no-admin", """
            action: DENY
            rules:
            - to:
              - operation: {paths: ["/admin/{**}"]}
            """);
    static final String ALLOW_BUT_NOT_ADMIN = policy("shop", "not-admin", """
            rules:
            - to:
              - operation: {notPaths: ["/admin/{**}"]}
            """);

    /**
     * The attacker's rows: with normalization off, a one-segment template must not allow a path the backend serves
     * as another (dot segments climb out, an encoded slash adds a segment), and a DENY template must not be dodged.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"/orders/..", "/orders/.", "/orders/%2e%2e", "/orders/..;x", "/orders/a%2Fadmin",
            "/orders/a%5Cadmin", "/orders/a\\admin", "/public/../admin/x", "/public/x/%2E%2E/%2e%2e/admin"})
    void anAllowTemplateNeverAllowsAnAmbiguousPath(String path) {
        Decision d = set(ALLOW_ONE_ORDER).decide(http(CHECKOUT, "orders.shop", 80, "GET", path));
        assertThat(d).isInstanceOfSatisfying(Decision.Denied.class,
                denied -> assertThat(denied.reason()).isEqualTo(DenyReason.NO_MATCHING_ALLOW));
        Decision notPaths = set(ALLOW_BUT_NOT_ADMIN).decide(http(CHECKOUT, "orders.shop", 80, "GET",
                path.replace("/orders/", "/admin/")));
        assertThat(notPaths.allowed()).as("notPaths template in an ALLOW").isFalse();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"/admin/..", "/public/../admin/users", "/admin%2Fusers", "/admin/x%5C..", "/x/..;/admin/users",
            "/admin/%2e/users"})
    void aDenyTemplateDeniesAnAmbiguousPath(String path) {
        Decision d = set(DENY_ADMIN).decide(http(CHECKOUT, "orders.shop", 80, "GET", path));
        assertThat(d).isInstanceOfSatisfying(Decision.Denied.class, denied -> {
            assertThat(denied.reason()).isEqualTo(DenyReason.EXPLICIT_DENY);
            assertThat(denied.policy()).isEqualTo("shop/no-admin");
        });
    }

    @Test
    void normalizedPathsAreDecidedAsBefore() {
        PolicySet allow = set(ALLOW_ONE_ORDER);
        assertThat(allow.decide(http(CHECKOUT, "orders.shop", 80, "GET", "/orders/42")).allowed()).isTrue();
        assertThat(allow.decide(http(CHECKOUT, "orders.shop", 80, "GET", "/public/a/b.css")).allowed()).isTrue();
        assertThat(allow.decide(http(CHECKOUT, "orders.shop", 80, "GET", "/orders/42/7")).allowed()).isFalse();
        PolicySet deny = set(DENY_ADMIN);
        assertThat(deny.decide(http(CHECKOUT, "orders.shop", 80, "GET", "/admin/users")).allowed()).isFalse();
        assertThat(deny.decide(http(CHECKOUT, "orders.shop", 80, "GET", "/public/users")).allowed()).isTrue();
        assertThat(set(ALLOW_BUT_NOT_ADMIN).decide(http(CHECKOUT, "orders.shop", 80, "GET", "/orders/1")).allowed())
                .isTrue();
    }
}
