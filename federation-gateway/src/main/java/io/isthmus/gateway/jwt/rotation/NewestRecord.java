package io.isthmus.gateway.jwt.rotation;

import java.util.List;

/**
 * Which copy of the cluster's rotation record a merge keeps, when a partition between the replicas heals: the copy
 * of the highest generation, whichever side coordinates the merge (Infinispan's own policies keep the coordinating
 * side's copy, and with two replicas cut apart that can be the side that never saw the last step: a retirement made
 * on the other side was undone, and the retired key was published again). A copy that cannot be read loses to one
 * that can; of two different copies of one generation, the later request wins, then the larger text, so that every
 * replica keeps the same one. Whether the kept record is genuine is judged afterwards, as always
 * ({@link RecordAdmission}). Pure; thread-safe.
 */
public final class NewestRecord {
    private NewestRecord() {
    }

    /** @return the index in {@code copies} of the copy to keep (null entries are absent copies); -1 when none is readable */
    public static int newest(List<String> copies) {
        int kept = -1;
        JwtRotationRecord best = null;
        for (int i = 0; i < copies.size(); i++) {
            JwtRotationRecord r = read(copies.get(i));
            if (r == null) {
                continue;
            }
            if (best == null || newer(r, copies.get(i), best, copies.get(kept))) {
                best = r;
                kept = i;
            }
        }
        return kept;
    }

    private static boolean newer(JwtRotationRecord r, String raw, JwtRotationRecord best, String bestRaw) {
        if (r.generation() != best.generation()) {
            return r.generation() > best.generation();
        }
        if (!r.requestedAt().equals(best.requestedAt())) {
            return r.requestedAt().isAfter(best.requestedAt());
        }
        return raw.compareTo(bestRaw) > 0;
    }

    private static JwtRotationRecord read(String raw) {
        if (raw == null) {
            return null;
        }
        try {
            return JwtRotationRecord.parse(SignedRotationRecord.read(raw).payload());
        } catch (RuntimeException e) {
            return null;
        }
    }
}
