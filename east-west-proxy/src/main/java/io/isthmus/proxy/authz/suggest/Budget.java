package io.isthmus.proxy.authz.suggest;

/**
 * The memory bound of one suggestion: how many entries (principal keys, ports, path-trie nodes) it may hold. The
 * structures take an entry before they grow and give it back when a wildcard merges entries, so what they hold is
 * at most {@link #limit()} entries, whatever the logs contain. Not thread-safe (one suggestion is built by one
 * thread).
 */
public final class Budget {
    /**
     * About 200 bytes per entry on a 64-bit JVM (a node, its map entry and segment string): the default bounds a
     * suggestion's state at roughly 100 MB.
     */
    public static final long DEFAULT_LIMIT = 500_000;

    private final long limit;
    private long used;
    private long peak;

    public Budget(long limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("the entry budget must be positive, got " + limit);
        }
        this.limit = limit;
    }

    /** Takes {@code n} entries if they are left; false (and nothing taken) otherwise. */
    boolean tryTake(long n) {
        if (used + n > limit) {
            return false;
        }
        used += n;
        peak = Math.max(peak, used);
        return true;
    }

    void give(long n) {
        used -= n;
        if (used < 0) {
            throw new IllegalStateException("gave back more entries than were taken");
        }
    }

    public long limit() {
        return limit;
    }

    public long used() {
        return used;
    }

    /** The most entries held at once. */
    public long peak() {
        return peak;
    }
}
