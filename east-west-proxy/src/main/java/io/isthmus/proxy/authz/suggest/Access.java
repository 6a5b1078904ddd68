package io.isthmus.proxy.authz.suggest;

import java.util.Map;
import java.util.TreeMap;

/**
 * What one {@link PrincipalKey} did to one service: requests, TCP ports, and per HTTP port the paths and methods
 * ({@link PathTrie}). Holds one budget entry for itself, one per TCP port, and its tries' nodes. Not thread-safe.
 */
final class Access {
    private final Budget budget;
    long requests;
    final TreeMap<Integer, Long> tcp = new TreeMap<>();
    final TreeMap<Integer, PathTrie> http = new TreeMap<>();

    /** @param budget this access's own entry is already taken from it by the caller */
    Access(Budget budget) {
        this.budget = budget;
    }

    /** A TCP connection to {@code port}; false when the budget cannot hold a new port. */
    boolean tcp(int port) {
        if (!tcp.containsKey(port) && !budget.tryTake(1)) {
            return false;
        }
        tcp.merge(port, 1L, Long::sum);
        requests++;
        return true;
    }

    /** An HTTP request; false when the budget cannot hold it. */
    boolean http(int port, int methodBit, PathGeneralizer.GeneralizedPath path, String original) {
        PathTrie trie = http.get(port);
        boolean created = false;
        if (trie == null) {
            if (!budget.tryTake(1)) {
                return false;
            }
            trie = new PathTrie(budget);
            created = true;
        }
        if (!trie.add(path, methodBit, original)) {
            if (created) {
                budget.give(1);
            }
            return false;
        }
        http.put(port, trie);
        requests++;
        return true;
    }

    /** Takes everything {@code other} did; the entries that merge away (and {@code other}'s own) are given back. */
    void absorb(Access other) {
        requests += other.requests;
        for (Map.Entry<Integer, Long> e : other.tcp.entrySet()) {
            if (tcp.containsKey(e.getKey())) {
                budget.give(1);
            }
            tcp.merge(e.getKey(), e.getValue(), Long::sum);
        }
        for (Map.Entry<Integer, PathTrie> e : other.http.entrySet()) {
            PathTrie mine = http.get(e.getKey());
            if (mine == null) {
                http.put(e.getKey(), e.getValue());
            } else {
                mine.absorb(e.getValue());
            }
        }
        budget.give(1);
    }
}
