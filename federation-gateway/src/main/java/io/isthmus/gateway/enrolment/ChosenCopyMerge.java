package io.isthmus.gateway.enrolment;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;

import org.infinispan.conflict.EntryMergePolicy;
import org.infinispan.container.entries.CacheEntry;

/**
 * A merge policy for a cache of JSON strings whose choice is a pure function of the sides' copies: it is given the
 * copies (the side coordinating the merge first; null for a side that has none) and answers the index of the one to
 * keep, or -1 to keep the coordinating side's. Infinispan's own policies keep the coordinating side's copy, and that
 * side may be the one that was cut off; each cache that must not lose a change to that defines its choice
 * ({@link RevocationWinsMerge}, {@link io.isthmus.gateway.entries.NewestEntriesMerge},
 * {@link io.isthmus.gateway.jwt.rotation.NewestRecordMerge}).
 */
public final class ChosenCopyMerge implements EntryMergePolicy<String, String> {
    private final ToIntFunction<List<String>> choice;

    public ChosenCopyMerge(ToIntFunction<List<String>> choice) {
        this.choice = choice;
    }

    @Override
    public CacheEntry<String, String> merge(CacheEntry<String, String> preferred, List<CacheEntry<String, String>> others) {
        List<CacheEntry<String, String>> all = new ArrayList<>(others.size() + 1);
        all.add(preferred);
        all.addAll(others);
        List<String> copies = new ArrayList<>(all.size());
        all.forEach(e -> copies.add(e == null ? null : e.getValue()));
        int kept = choice.applyAsInt(copies);
        return kept < 0 ? preferred : all.get(kept);
    }
}
