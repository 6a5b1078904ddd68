package io.isthmus.trust.federation;

/**
 * Whether a bundle set may replace the one in force in a trust snapshot (pure; thread-safe). The store numbers its
 * swaps under its lock, but tells its listeners after the lock, on the swapping threads: two changes that race (a
 * peer's bundle installed while a removed member's bundle is dropped) can arrive in the other order, and the set
 * computed first, installed last, would put back what the second change took out (or leave out what it added) until
 * the next change. Only a later swap replaces an earlier one.
 */
public final class BundleGeneration {
    private BundleGeneration() {
    }

    /**
     * @param offered the number of the swap that computed the set offered now
     * @param installed the number of the swap whose set is in force
     */
    public static boolean supersedes(long offered, long installed) {
        return offered > installed;
    }
}
