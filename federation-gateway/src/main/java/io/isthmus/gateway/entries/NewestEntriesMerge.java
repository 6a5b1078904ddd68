package io.isthmus.gateway.entries;

import java.util.ArrayList;
import java.util.List;

import org.infinispan.conflict.EntryMergePolicy;
import org.infinispan.container.entries.CacheEntry;

/**
 * How the registration-entries cache merges when a partition between the cluster's replicas heals: each agent's
 * newest copy wins ({@link VersionedEntries#newest}), whichever side coordinates the merge. Infinispan's own
 * policies prefer the coordinating side's copy, and that side may be the one that was cut off: a deletion made on the
 * majority side came back.
 */
public final class NewestEntriesMerge implements EntryMergePolicy<String, String> {
    public static final NewestEntriesMerge INSTANCE = new NewestEntriesMerge();

    private NewestEntriesMerge() {
    }

    @Override
    public CacheEntry<String, String> merge(CacheEntry<String, String> preferred, List<CacheEntry<String, String>> others) {
        List<CacheEntry<String, String>> all = new ArrayList<>(others.size() + 1);
        all.add(preferred);
        all.addAll(others);
        List<String> copies = new ArrayList<>(all.size());
        all.forEach(e -> copies.add(e == null ? null : e.getValue()));
        int kept = VersionedEntries.newest(copies);
        return kept < 0 ? preferred : all.get(kept);
    }
}
