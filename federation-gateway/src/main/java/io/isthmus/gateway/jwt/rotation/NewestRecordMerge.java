package io.isthmus.gateway.jwt.rotation;

import java.util.ArrayList;
import java.util.List;

import org.infinispan.conflict.EntryMergePolicy;
import org.infinispan.container.entries.CacheEntry;

/** How the rotation record's cache merges after a partition: the newest record wins ({@link NewestRecord#newest}). */
public final class NewestRecordMerge implements EntryMergePolicy<String, String> {
    public static final NewestRecordMerge INSTANCE = new NewestRecordMerge();

    private NewestRecordMerge() {
    }

    @Override
    public CacheEntry<String, String> merge(CacheEntry<String, String> preferred, List<CacheEntry<String, String>> others) {
        List<CacheEntry<String, String>> all = new ArrayList<>(others.size() + 1);
        all.add(preferred);
        all.addAll(others);
        List<String> copies = new ArrayList<>(all.size());
        all.forEach(e -> copies.add(e == null ? null : e.getValue()));
        int kept = NewestRecord.newest(copies);
        return kept < 0 ? preferred : all.get(kept);
    }
}
