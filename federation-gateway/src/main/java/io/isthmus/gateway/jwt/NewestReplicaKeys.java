package io.isthmus.gateway.jwt;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import io.isthmus.gateway.enrolment.ChosenCopyMerge;

/**
 * Which copy of a replica's JWT key entry a merge keeps, when a partition between the replicas heals: the one the
 * replica wrote last ({@code written}, its own clock; only the replica itself writes its entry). Without a choice each
 * side kept its own copies, so a replica on the other side went on publishing what the replica had withdrawn meanwhile
 * (a retired key) until the replica's next refresh, a third of its lease later.
 *
 * <p>A copy that names no {@code written} (a gateway from before it was written) loses to one that does; between two
 * such, the later {@code expires} wins (every refresh moves it forward). A copy that cannot be read loses to one that
 * can; equal times keep the larger text, so every replica keeps the same copy. Whether the kept entry is published is
 * judged afterwards, as always ({@link ReplicaKeyMerge}). Pure; thread-safe.
 */
public final class NewestReplicaKeys {
    /** The replica key cache's merge policy. */
    public static final ChosenCopyMerge MERGE = new ChosenCopyMerge(NewestReplicaKeys::newest);

    private NewestReplicaKeys() {
    }

    private record Copy(Instant written, Instant expires, String raw) {
    }

    /** @return the index in {@code copies} of the copy to keep (null entries are absent copies); -1 when none is readable */
    public static int newest(List<String> copies) {
        int kept = -1;
        Copy best = null;
        for (int i = 0; i < copies.size(); i++) {
            Copy c = read(copies.get(i));
            if (c != null && (best == null || newer(c, best))) {
                best = c;
                kept = i;
            }
        }
        return kept;
    }

    private static boolean newer(Copy c, Copy best) {
        int byWritten = compare(c.written, best.written);
        if (byWritten != 0) {
            return byWritten > 0;
        }
        int byExpiry = compare(c.expires, best.expires);
        if (byExpiry != 0) {
            return byExpiry > 0;
        }
        return c.raw.compareTo(best.raw) > 0;
    }

    /** Absent sorts first. */
    private static int compare(Instant x, Instant y) {
        if (x == null || y == null) {
            return x == null ? (y == null ? 0 : -1) : 1;
        }
        return x.compareTo(y);
    }

    private static Copy read(String raw) {
        if (raw == null) {
            return null;
        }
        try {
            JsonNode n = ReplicaKeys.readTree(raw);
            if (n == null || !n.isObject() || !n.path("replica").isTextual()) {
                return null;
            }
            return new Copy(instant(n.get("written")), instant(n.get("expires")), raw);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return null;
        }
    }

    private static Instant instant(JsonNode n) {
        if (n == null || !n.isTextual()) {
            return null;
        }
        try {
            return Instant.parse(n.asText());
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
