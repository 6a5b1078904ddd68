package io.isthmus.gateway.enrolment;

import java.util.List;

/**
 * How the VM identity cache merges when a partition between the cluster's replicas heals: revocation wins. Each side
 * kept serving while apart (a VM must renew even when a replica is down), so an identity may have been revoked on one
 * side only; Infinispan's default merge kept one side's copy of the whole cache, and a revocation made on the other
 * side was silently undone everywhere. Of the copies of one identity the merge keeps a revoked one if any side holds
 * it (the earliest revocation), else the preferred side's, else any side's (an identity enrolled on one side only is
 * kept, never dropped). A copy that cannot be read is not chosen over one that can. Pure apart from parsing.
 */
final class RevocationWinsMerge {
    static final ChosenCopyMerge INSTANCE = new ChosenCopyMerge(RevocationWinsMerge::choose);

    private RevocationWinsMerge() {
    }

    /**
     * The index of the copy to keep among {@code copies} (the preferred side's first; null for a side that has none),
     * or -1 when none can be kept.
     */
    static int choose(List<String> copies) {
        int revoked = -1;
        java.time.Instant revokedAt = null;
        int readable = -1;
        int present = -1;
        for (int i = 0; i < copies.size(); i++) {
            String json = copies.get(i);
            if (json == null) {
                continue;
            }
            present = present < 0 ? i : present;
            VmIdentity v;
            try {
                v = EnrolmentJson.readIdentity(json);
            } catch (RuntimeException e) {
                continue;
            }
            readable = readable < 0 ? i : readable;
            if (v.revoked() && (revokedAt == null || v.revokedAt().orElseThrow().isBefore(revokedAt))) {
                revoked = i;
                revokedAt = v.revokedAt().orElseThrow();
            }
        }
        return revoked >= 0 ? revoked : readable >= 0 ? readable : present;
    }
}
