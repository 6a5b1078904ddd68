package io.isthmus.proxy.authz.suggest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.isthmus.proxy.authz.policy.PathTemplate;

/**
 * The path trie keeps itself small by generalizing: past {@value PathTrie#FAN_OUT} distinct values at one position
 * they become {@code {*}}, past {@value PathTrie#MAX_NODES} nodes the widest position does; the budget is never
 * exceeded, node counts stay exact, and every path added still matches a template of the trie.
 */
class PathTrieTest {
    static final int GET = 1;
    static final int POST = 4;

    final Budget budget = new Budget(Budget.DEFAULT_LIMIT);

    PathTrie trie() {
        assertThat(budget.tryTake(1)).isTrue();
        return new PathTrie(budget);
    }

    static boolean add(PathTrie t, String path, int method) {
        return t.add(PathGeneralizer.generalize(path), method, path);
    }

    @Test
    void keepsUpToFanOutDistinctValuesExact() {
        PathTrie t = trie();
        for (int i = 0; i < PathTrie.FAN_OUT; i++) {
            add(t, "/users/user-" + (char) ('a' + i % 26) + i, GET);
        }
        assertThat(t.leaves()).hasSize(PathTrie.FAN_OUT).allSatisfy(l -> assertThat(l.generalizations()).isZero());
        assertThat(t.nodes()).isEqualTo(t.countNodes()).isEqualTo(budget.used());
    }

    @Test
    void oneMoreThanFanOutBecomesAWildcardNamingItsExamples() {
        PathTrie t = trie();
        List<String> paths = new ArrayList<>();
        for (int i = 0; i <= PathTrie.FAN_OUT; i++) {
            paths.add("/users/user-" + (char) ('a' + i % 26) + i + "/profile");
        }
        paths.forEach(p -> add(t, p, GET));
        add(t, "/users/me", POST);
        List<PathTrie.Leaf> leaves = t.leaves();
        assertThat(leaves).extracting(PathTrie.Leaf::template).containsExactly("/users/{*}", "/users/{*}/profile");
        assertThat(leaves.get(0).generalizations()).as("/users/me: the position is known to vary")
                .isEqualTo(1 << Generalization.FAN_OUT.ordinal());
        PathTrie.Leaf profile = leaves.get(1);
        assertThat(profile.requests()).isEqualTo(PathTrie.FAN_OUT + 1);
        assertThat(profile.methods()).isEqualTo(GET);
        assertThat(profile.generalizations()).isEqualTo(1 << Generalization.FAN_OUT.ordinal());
        assertThat(profile.firstExample()).isEqualTo("/users/user-a0/profile");
        assertThat(profile.lastExample()).isEqualTo("/users/user-z25/profile");
        assertThat(t.nodes()).isEqualTo(t.countNodes()).isEqualTo(budget.used()).isEqualTo(4);
        paths.forEach(p -> assertThat(matchesSome(t, p)).as(p).isTrue());
    }

    @Test
    void mergingSubtreesKeepsWhatFollowsTheId() {
        PathTrie t = trie();
        for (int i = 0; i < 40; i++) {
            add(t, "/users/u" + Integer.toString(i * 7919, 36) + "x/orders", GET);
            add(t, "/users/u" + Integer.toString(i * 7919, 36) + "x/profile", POST);
        }
        add(t, "/users/u0x/orders/1", GET);
        // A value seen after the position was found variable goes straight into its wildcard.
        assertThat(t.leaves()).extracting(PathTrie.Leaf::template)
                .containsExactly("/users/{*}/orders", "/users/{*}/orders/{*}", "/users/{*}/profile");
        assertThat(t.nodes()).isEqualTo(t.countNodes()).isEqualTo(budget.used());
    }

    /** A million distinct ids of a shape the generalizer does not know: the trie stays a handful of nodes. */
    @Test
    void aMillionDistinctIdsStayBounded() {
        PathTrie t = trie();
        long peak = 0;
        for (int i = 0; i < 1_000_000; i++) {
            String path = "/carts/c_" + Integer.toString(i, 36) + "/items";
            assertThat(add(t, path, GET)).isTrue();
            peak = Math.max(peak, t.nodes());
        }
        assertThat(t.leaves()).extracting(PathTrie.Leaf::template).containsExactly("/carts/{*}/items");
        assertThat(t.leaves().get(0).requests()).isEqualTo(1_000_000);
        // FAN_OUT + 1 literal ids (each with its /items) before the wildcard forms; after it, none.
        int bound = 3 + 2 * (PathTrie.FAN_OUT + 1);
        assertThat(peak).as("nodes held at once").isLessThanOrEqualTo(bound);
        assertThat(budget.peak()).isLessThanOrEqualTo(bound);
        assertThat(t.nodes()).isEqualTo(t.countNodes()).isEqualTo(budget.used());
    }

    /** Three levels of 32 names each stay under the fan-out but pass the node limit: the widest level goes. */
    @Test
    void theWidestPositionIsGeneralizedWhenTheTrieGrowsPastItsNodeLimit() {
        PathTrie t = trie();
        List<String> added = new ArrayList<>();
        for (int a = 0; a < 32; a++) {
            for (int b = 0; b < 32; b++) {
                for (int c = 0; c < 8; c++) {
                    String p = "/r" + a + "x/s" + b + "y/t" + c + "z";
                    add(t, p, GET);
                    added.add(p);
                }
            }
        }
        assertThat(t.nodes()).isLessThanOrEqualTo(PathTrie.MAX_NODES).isEqualTo(t.countNodes())
                .isEqualTo(budget.used());
        assertThat(t.leaves()).hasSizeLessThan(added.size());
        assertThat(added).allSatisfy(p -> assertThat(matchesSome(t, p)).as(p).isTrue());
    }

    @Test
    void theBudgetRefusesGrowthAndNothingIsAddedPartially() {
        Budget small = new Budget(4);
        assertThat(small.tryTake(1)).isTrue();
        PathTrie t = new PathTrie(small);
        assertThat(add(t, "/a/b", GET)).isTrue();
        assertThat(small.used()).isEqualTo(3);
        assertThat(add(t, "/c/d", GET)).as("needs 2 nodes, 1 left").isFalse();
        assertThat(add(t, "/a/b", POST)).as("no new node").isTrue();
        assertThat(add(t, "/a/c", POST)).isTrue();
        assertThat(small.used()).isEqualTo(4).isEqualTo(t.countNodes());
        assertThat(t.leaves()).extracting(PathTrie.Leaf::template).containsExactly("/a/b", "/a/c");
        assertThat(t.leaves().get(0).methods()).isEqualTo(GET | POST);
    }

    @Test
    void absorbingAnotherTrieGivesBackWhatMerges() {
        PathTrie a = trie();
        PathTrie b = trie();
        add(a, "/orders/1", GET);
        add(a, "/orders/x", GET);
        add(b, "/orders/2", POST);
        add(b, "/health", GET);
        a.absorb(b);
        assertThat(a.leaves()).extracting(PathTrie.Leaf::template).containsExactly("/health", "/orders/x",
                "/orders/{*}");
        assertThat(a.leaves().get(2).methods()).isEqualTo(GET | POST);
        assertThat(a.leaves().get(2).requests()).isEqualTo(2);
        assertThat(a.nodes()).isEqualTo(a.countNodes()).isEqualTo(budget.used());
    }

    @Test
    void coversComparesTemplatesSegmentBySegment() {
        assertThat(PathTrie.covers("/orders/{*}", "/orders/x")).isTrue();
        assertThat(PathTrie.covers("/orders/{*}", "/orders/{*}")).isFalse();
        assertThat(PathTrie.covers("/orders/x", "/orders/{*}")).isFalse();
        assertThat(PathTrie.covers("/orders/{*}", "/orders/{**}")).as("one segment never covers the rest").isFalse();
        assertThat(PathTrie.covers("/orders/{**}", "/orders/{*}")).isTrue();
        assertThat(PathTrie.covers("/orders/{**}", "/orders/a/b")).isTrue();
        assertThat(PathTrie.covers("/orders/{**}", "/orders/")).isFalse();
        assertThat(PathTrie.covers("/orders/{*}", "/orders/")).isFalse();
        assertThat(PathTrie.covers("/orders/{*}", "/orders/a/b")).isFalse();
    }

    private static boolean matchesSome(PathTrie t, String path) {
        return t.leaves().stream().anyMatch(l -> PathTemplate.matches(l.template(), path));
    }
}
