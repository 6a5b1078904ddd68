package io.isthmus.proxy.authz.suggest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Callers stay exact SPIFFE IDs until more than the threshold (5 here, the default) of one namespace, or namespaces
 * of one trust domain, were seen; only then do they become a namespace or trust-domain wildcard.
 */
class PrincipalGroupingTest {
    static final int T = PolicySuggester.DEFAULT_GROUP_THRESHOLD;

    static List<String> ids(String td, String ns, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add("spiffe://" + td + "/ns/" + ns + "/sa/sa" + i);
        }
        return out;
    }

    static List<String> namespaces(String td, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add("spiffe://" + td + "/ns/team" + i + "/sa/app");
        }
        return out;
    }

    @SafeVarargs
    static List<String> concat(List<String>... lists) {
        List<String> out = new ArrayList<>();
        for (List<String> l : lists) {
            out.addAll(l);
        }
        return out;
    }

    static Stream<Arguments> table() {
        return Stream.of(
                row("one caller stays exact", List.of("spiffe://a.example/ns/shop/sa/cart"),
                        "spiffe://a.example/ns/shop/sa/cart"),
                row("the same caller many times is one key", List.of("spiffe://a.example/ns/shop/sa/cart",
                        "spiffe://a.example/ns/shop/sa/cart"), "spiffe://a.example/ns/shop/sa/cart"),
                row(T + " identities of one namespace stay exact", ids("a.example", "shop", T),
                        ids("a.example", "shop", T).toArray(String[]::new)),
                row((T + 1) + " identities of one namespace become its wildcard", ids("a.example", "shop", T + 1),
                        "spiffe://a.example/ns/shop/*"),
                row("the wildcard of one namespace leaves the others exact",
                        concat(ids("a.example", "shop", T + 1), List.of("spiffe://a.example/ns/ops/sa/cron")),
                        "spiffe://a.example/ns/ops/sa/cron", "spiffe://a.example/ns/shop/*"),
                row("the same namespace name in another trust domain is another group",
                        concat(ids("a.example", "shop", T + 1), ids("b.example", "shop", 2)),
                        "spiffe://a.example/ns/shop/*", "spiffe://b.example/ns/shop/sa/sa0",
                        "spiffe://b.example/ns/shop/sa/sa1"),
                row(T + " namespaces of one trust domain stay apart", namespaces("a.example", T),
                        namespaces("a.example", T).toArray(String[]::new)),
                row((T + 1) + " namespaces of one trust domain become the trust domain", namespaces("a.example", T + 1),
                        "a.example"),
                row("IDs without a namespace count as groups of their own",
                        concat(namespaces("a.example", T), List.of("spiffe://a.example/gateway")), "a.example"),
                row("an ID /ns/<ns> with nothing after it is not covered by the namespace wildcard, so it stays exact",
                        List.of("spiffe://a.example/ns/shop"), "spiffe://a.example/ns/shop"),
                row("a trust-domain wildcard takes namespaces already grouped",
                        concat(ids("a.example", "shop", T + 1), namespaces("a.example", T)), "a.example"),
                row("a caller after the trust domain was grouped is inside it",
                        concat(namespaces("a.example", T + 1), List.of("spiffe://a.example/ns/new/sa/x")),
                        "a.example"));
    }

    static Arguments row(String name, List<String> callers, String... keys) {
        return Arguments.of(name, callers, List.of(keys));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void groupsOnlyAboveTheThreshold(String name, List<String> callers, List<String> keys) {
        Budget budget = new Budget(Budget.DEFAULT_LIMIT);
        Callers c = new Callers(T, budget);
        for (String id : callers) {
            assertThat(c.accessFor(SpiffeId.parse(id)).orElseThrow().tcp(5432)).isTrue();
        }
        Map<PrincipalKey, Access> result = c.keys();
        assertThat(result.keySet()).extracting(PrincipalKey::pattern).containsExactlyInAnyOrderElementsOf(keys);
        assertThat(result.values().stream().mapToLong(a -> a.requests).sum()).as("every request kept")
                .isEqualTo(callers.size());
    }

    /** A million distinct identities of one namespace, then of a million namespaces: a handful of entries. */
    @Test
    void aMillionDistinctIdentitiesStayBounded() {
        Budget budget = new Budget(Budget.DEFAULT_LIMIT);
        Callers c = new Callers(T, budget);
        for (int i = 0; i < 1_000_000; i++) {
            c.accessFor(SpiffeId.parse("spiffe://a.example/ns/shop/sa/pod-" + i)).orElseThrow().tcp(5432);
        }
        assertThat(c.keys().keySet()).extracting(PrincipalKey::pattern).containsExactly("spiffe://a.example/ns/shop/*");
        for (int i = 0; i < 1_000_000; i++) {
            c.accessFor(SpiffeId.parse("spiffe://b.example/ns/n" + i + "/sa/x")).orElseThrow().tcp(5432);
        }
        assertThat(c.keys().keySet()).extracting(PrincipalKey::pattern).containsExactly(
                "spiffe://a.example/ns/shop/*", "b.example");
        // Per trust domain: at most T namespaces of T identities each, their accesses and ports, before grouping.
        assertThat(budget.peak()).isLessThanOrEqualTo(2 + 2L * (T + 1) * (T + 2));
        assertThat(budget.used()).as("2 trust domains, a namespace, 2 accesses, 2 ports").isEqualTo(7);
    }

    @Test
    void keysSortByTrustDomainThenExactBeforeWildcards() {
        List<PrincipalKey> keys = new ArrayList<>(List.of(
                new PrincipalKey.Domain(SpiffeId.parse("spiffe://b.example/x").trustDomain()),
                new PrincipalKey.Namespace(SpiffeId.parse("spiffe://a.example/x").trustDomain(), "shop"),
                new PrincipalKey.Exact(SpiffeId.parse("spiffe://a.example/ns/zz/sa/x")),
                new PrincipalKey.Exact(SpiffeId.parse("spiffe://b.example/ns/a/sa/x"))));
        keys.sort(null);
        assertThat(keys).extracting(PrincipalKey::pattern).containsExactly("spiffe://a.example/ns/zz/sa/x",
                "spiffe://a.example/ns/shop/*", "spiffe://b.example/ns/a/sa/x", "b.example");
    }
}
