package io.isthmus.proxy.authz.suggest;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.isthmus.proxy.authz.policy.PathTemplate;

/**
 * The paths one caller used on one port of one service, as a trie of template segments whose leaves remember the
 * methods, the request count and what was generalized. It keeps itself small by generalizing: when more than
 * {@value #FAN_OUT} distinct literal segments follow the same prefix, they are merged into one {@code {*}}
 * ({@link Generalization#FAN_OUT}); when the trie holds more than {@value #MAX_NODES} nodes, the widest position is
 * merged the same way, and later values at a merged position go straight into its {@code {*}}. Every observed path
 * still matches the trie's templates after a merge. Nodes are taken from
 * the suggestion's {@link Budget} before the trie grows; a path the budget cannot hold is refused. Not thread-safe.
 */
final class PathTrie {
    /** Distinct literal segments after one prefix before they are taken for ids; far above the resources of an API. */
    static final int FAN_OUT = 32;
    /** Nodes one trie holds before its widest position is generalized. */
    static final int MAX_NODES = 4096;
    static final int EXAMPLE_CHARS = 160;

    private final Budget budget;
    private final Node root = new Node();
    private int nodes = 1;

    /** @param budget the root node is already taken from it by the caller */
    PathTrie(Budget budget) {
        this.budget = budget;
    }

    /** One template with what was observed under it. */
    record Leaf(String template, int methods, long requests, int generalizations, String firstExample,
            String lastExample) {
    }

    int nodes() {
        return nodes;
    }

    /** Counts the nodes by walking them (tests check it against {@link #nodes()}). */
    int countNodes() {
        return count(root);
    }

    private static int count(Node n) {
        int c = 1;
        if (n.children != null) {
            for (Node child : n.children.values()) {
                c += count(child);
            }
        }
        return c;
    }

    /**
     * Adds one request.
     *
     * @param methodBit bit of the method in the caller's method table
     * @param original  the observed path (kept, cut, as an example for review)
     * @return false when the budget cannot hold the new nodes (nothing was added)
     */
    boolean add(PathGeneralizer.GeneralizedPath path, int methodBit, String original) {
        // A position already found to be variable takes any literal into its wildcard.
        List<String> segments = new ArrayList<>(path.segments().size());
        int kinds = mask(path);
        int missing = 0;
        Node n = root;
        for (String s : path.segments()) {
            if (n != null && n.variable && literal(s)) {
                s = PathTemplate.ONE;
                kinds |= 1 << Generalization.FAN_OUT.ordinal();
            }
            segments.add(s);
            Node c = n == null ? null : n.child(s);
            if (c == null) {
                missing++;
            }
            n = c;
        }
        if (missing > 0 && !budget.tryTake(missing)) {
            return false;
        }
        nodes += missing;
        List<Node> trail = new ArrayList<>(segments.size() + 1);
        n = root;
        trail.add(n);
        for (String s : segments) {
            n = n.childOrNew(s);
            trail.add(n);
        }
        if (n.leaf == null) {
            n.leaf = new LeafState();
        }
        n.leaf.add(methodBit, kinds, cut(original));
        for (Node t : trail) {
            if (t.literalChildren() > FAN_OUT) {
                // Lower nodes of the trail are merged by this; the merge re-checks them itself.
                release(collapse(t));
                break;
            }
        }
        while (nodes > MAX_NODES) {
            Node widest = widest();
            if (widest == null) {
                break; // no literal position left to merge: the budget is the bound
            }
            release(collapse(widest));
        }
        return true;
    }

    /**
     * Takes every path of {@code other} into this trie (both tries' nodes came from the same budget; the nodes that
     * merge away are given back). {@code other} must not be used afterwards.
     */
    void absorb(PathTrie other) {
        int eliminated = 1 + merge(root, other.root);
        nodes += other.nodes;
        release(eliminated);
        while (nodes > MAX_NODES) {
            Node widest = widest();
            if (widest == null) {
                break;
            }
            release(collapse(widest));
        }
    }

    private void release(int eliminated) {
        nodes -= eliminated;
        budget.give(eliminated);
    }

    /** Every template with its leaf, sorted by template. */
    List<Leaf> leaves() {
        List<Leaf> out = new ArrayList<>();
        collect(root, new StringBuilder(), true, out);
        out.sort(Comparator.comparing(Leaf::template));
        return out;
    }

    private static void collect(Node n, StringBuilder prefix, boolean isRoot, List<Leaf> out) {
        if (n.leaf != null && !isRoot) {
            LeafState l = n.leaf;
            out.add(new Leaf(prefix.toString(), l.methods, l.count, l.kinds, l.first, l.last));
        }
        if (n.children == null) {
            return;
        }
        int len = prefix.length();
        for (Map.Entry<String, Node> e : n.children.entrySet()) {
            prefix.append('/').append(e.getKey());
            collect(e.getValue(), prefix, false, out);
            prefix.setLength(len);
        }
    }

    /** Merges the literal children of {@code n} into its {@code {*}} child; returns the nodes that went away. */
    private static int collapse(Node n) {
        Node star = n.child(PathTemplate.ONE);
        int eliminated = 0;
        if (star == null) {
            star = new Node();
            eliminated--;
        }
        List<String> literals = new ArrayList<>();
        for (String k : n.children.keySet()) {
            if (literal(k)) {
                literals.add(k);
            }
        }
        for (String k : literals) {
            Node c = n.children.remove(k);
            mark(c, 1 << Generalization.FAN_OUT.ordinal());
            eliminated += 1 + merge(star, c);
        }
        n.children.put(PathTemplate.ONE, star);
        n.variable = true;
        return eliminated;
    }

    /** Merges {@code from} into {@code into}; returns the nodes of {@code from}'s subtree that went away. */
    private static int merge(Node into, Node from) {
        if (from.leaf != null) {
            if (into.leaf == null) {
                into.leaf = from.leaf;
            } else {
                into.leaf.merge(from.leaf);
            }
        }
        int eliminated = 0;
        if (from.children != null) {
            for (Map.Entry<String, Node> e : from.children.entrySet()) {
                Node existing = into.child(e.getKey());
                if (existing == null) {
                    into.childrenMap().put(e.getKey(), e.getValue());
                } else {
                    eliminated += 1 + merge(existing, e.getValue());
                }
            }
        }
        into.variable |= from.variable;
        if (into.literalChildren() > FAN_OUT || (into.variable && into.literalChildren() > 0)) {
            eliminated += collapse(into);
        }
        return eliminated;
    }

    private static void mark(Node n, int kinds) {
        if (n.leaf != null) {
            n.leaf.kinds |= kinds;
        }
        if (n.children != null) {
            for (Node c : n.children.values()) {
                mark(c, kinds);
            }
        }
    }

    /** The node with the most literal children (at least 2), nearest the root on a tie; null when there is none. */
    private Node widest() {
        Node best = null;
        int bestCount = 1;
        List<Node> level = List.of(root);
        while (!level.isEmpty()) {
            List<Node> next = new ArrayList<>();
            for (Node n : level) {
                int c = n.literalChildren();
                if (c > bestCount) {
                    best = n;
                    bestCount = c;
                }
                if (n.children != null) {
                    next.addAll(n.children.values());
                }
            }
            level = next;
        }
        return best;
    }

    /**
     * Whether template {@code general} matches every path template {@code specific} matches (and differs from it):
     * segment by segment a literal equals a literal, {@code {*}} covers a literal or {@code {*}}, and a final
     * {@code {**}} covers one or more of anything.
     */
    static boolean covers(String general, String specific) {
        if (general.equals(specific)) {
            return false;
        }
        String[] g = general.split("/", -1);
        String[] s = specific.split("/", -1);
        for (int i = 1; i < g.length; i++) {
            if (g[i].equals(PathTemplate.REST)) {
                return i == g.length - 1 && s.length > i && !(s.length == i + 1 && s[i].isEmpty());
            }
            if (i >= s.length) {
                return false;
            }
            boolean ok = g[i].equals(PathTemplate.ONE) ? !s[i].isEmpty() && !s[i].equals(PathTemplate.REST)
                    : g[i].equals(s[i]);
            if (!ok) {
                return false;
            }
        }
        return g.length == s.length;
    }

    static boolean literal(String segment) {
        return !segment.isEmpty() && !segment.equals(PathTemplate.ONE) && !segment.equals(PathTemplate.REST);
    }

    private static int mask(PathGeneralizer.GeneralizedPath path) {
        int m = 0;
        for (Generalization g : path.generalizations()) {
            m |= 1 << g.ordinal();
        }
        return m;
    }

    static String cut(String example) {
        return example.length() <= EXAMPLE_CHARS ? example
                : example.substring(0, EXAMPLE_CHARS) + "... (" + example.length() + " characters)";
    }

    private static final class Node {
        Map<String, Node> children;
        LeafState leaf;
        /** Its literal children were merged into {@code {*}}: later ones go there directly. */
        boolean variable;

        Node child(String segment) {
            return children == null ? null : children.get(segment);
        }

        Map<String, Node> childrenMap() {
            if (children == null) {
                children = new HashMap<>(4);
            }
            return children;
        }

        Node childOrNew(String segment) {
            return childrenMap().computeIfAbsent(segment, k -> new Node());
        }

        int literalChildren() {
            if (children == null) {
                return 0;
            }
            int n = 0;
            for (String k : children.keySet()) {
                if (literal(k)) {
                    n++;
                }
            }
            return n;
        }
    }

    private static final class LeafState {
        int methods;
        long count;
        int kinds;
        String first;
        String last;

        void add(int methodBit, int kindMask, String example) {
            methods |= methodBit;
            count++;
            kinds |= kindMask;
            example(example);
        }

        void merge(LeafState o) {
            methods |= o.methods;
            count += o.count;
            kinds |= o.kinds;
            example(o.first);
            example(o.last);
        }

        private void example(String e) {
            if (first == null || e.compareTo(first) < 0) {
                first = e;
            }
            if (last == null || e.compareTo(last) > 0) {
                last = e;
            }
        }
    }
}
