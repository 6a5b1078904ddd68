package io.isthmus.gateway.entries;

import java.util.List;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One agent's registration entries as stored: {@code {"version": n, "entries": [...]}}. Every change raises the
 * version by one, and a deletion is stored as no entries (a tombstone) rather than removing the key, so that when a
 * partition between the cluster's replicas heals, the newest copy can be told from an older one whichever side
 * coordinates the merge ({@link NewestEntriesMerge}). A bare JSON array (written before versions) reads as version 0.
 * Pure.
 */
record VersionedEntries(long version, ArrayNode entries) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Nothing stored yet. */
    static final VersionedEntries NONE = new VersionedEntries(-1, JSON.createArrayNode());

    /** Whether there are no entries (never set, or deleted). */
    boolean isEmpty() {
        return entries.isEmpty();
    }

    /** The copy that replaces this one with {@code next} (none: a deletion). */
    VersionedEntries then(ArrayNode next) {
        return new VersionedEntries(version + 1, next);
    }

    String json() {
        ObjectNode n = JSON.createObjectNode().put("version", version);
        n.set("entries", entries);
        return n.toString();
    }

    /**
     * Reads a stored copy; null reads as {@link #NONE}.
     *
     * @throws IllegalArgumentException naming what is wrong, for anything else
     */
    static VersionedEntries read(String stored) {
        if (stored == null) {
            return NONE;
        }
        JsonNode n;
        try {
            n = JSON.readTree(stored);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("a stored registration entry list is not JSON: " + e.getOriginalMessage());
        }
        if (n instanceof ArrayNode legacy) {
            return new VersionedEntries(0, legacy);
        }
        if (n instanceof ObjectNode o && o.size() == 2 && o.get("entries") instanceof ArrayNode entries) {
            JsonNode version = o.get("version");
            if (version != null && version.isIntegralNumber() && version.canConvertToLong() && version.asLong() >= 0) {
                return new VersionedEntries(version.asLong(), entries);
            }
        }
        throw new IllegalArgumentException("a stored registration entry list is neither an array nor {\"version\": n >= 0, "
                + "\"entries\": [...]}");
    }

    /**
     * The index of the copy to keep among the replicas' {@code copies} of one agent's entries (null for a replica that
     * has none), or -1 when there is none: the highest version; of equal versions with different entries (only
     * possible if two sides both wrote), the one with fewer entries, then the smaller JSON, so every replica chooses
     * the same copy. A copy that cannot be read is kept only when no copy can.
     */
    static int newest(List<String> copies) {
        int best = -1;
        VersionedEntries bestCopy = null;
        int present = -1;
        for (int i = 0; i < copies.size(); i++) {
            String stored = copies.get(i);
            if (stored == null) {
                continue;
            }
            present = present < 0 ? i : present;
            VersionedEntries copy;
            try {
                copy = read(stored);
            } catch (IllegalArgumentException e) {
                continue;
            }
            if (bestCopy == null || newer(copy, bestCopy)) {
                best = i;
                bestCopy = copy;
            }
        }
        return best >= 0 ? best : present;
    }

    private static boolean newer(VersionedEntries a, VersionedEntries b) {
        if (a.version != b.version) {
            return a.version > b.version;
        }
        if (a.entries.size() != b.entries.size()) {
            return a.entries.size() < b.entries.size();
        }
        return a.json().compareTo(b.json()) < 0;
    }
}
