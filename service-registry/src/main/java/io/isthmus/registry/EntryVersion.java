package io.isthmus.registry;

import java.time.Instant;
import java.util.Comparator;
import java.util.Objects;

/**
 * Where a record stands in its key's history: the revision (raised by every change of content and by a removal) and
 * the instant its owner signed it (raised by every write, heartbeats included). Records of one key are ordered by
 * revision, then by signing instant: a site holding a version refuses an older one, so a replayed entry cannot undo a
 * newer one, nor a replayed export undo a removal.
 */
public record EntryVersion(long revision, Instant signedAt) implements Comparable<EntryVersion> {
    private static final Comparator<EntryVersion> ORDER = Comparator.comparingLong(EntryVersion::revision)
            .thenComparing(EntryVersion::signedAt);

    public EntryVersion {
        Objects.requireNonNull(signedAt, "signedAt");
        if (revision < 1) {
            throw new IllegalArgumentException("revision must be at least 1, got " + revision);
        }
    }

    @Override
    public int compareTo(EntryVersion other) {
        return ORDER.compare(this, other);
    }

    public boolean olderThan(EntryVersion other) {
        return compareTo(other) < 0;
    }

    @Override
    public String toString() {
        return "revision " + revision + " signed " + signedAt;
    }
}
