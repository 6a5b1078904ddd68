package io.isthmus.gateway.entries;

import io.isthmus.gateway.enrolment.ChosenCopyMerge;

/**
 * How the registration-entries cache merges when a partition between the cluster's replicas heals: each agent's
 * newest copy wins ({@link VersionedEntries#newest}), whichever side coordinates the merge. Infinispan's own
 * policies prefer the coordinating side's copy, and that side may be the one that was cut off: a deletion made on the
 * majority side came back.
 */
public final class NewestEntriesMerge {
    public static final ChosenCopyMerge INSTANCE = new ChosenCopyMerge(VersionedEntries::newest);

    private NewestEntriesMerge() {
    }
}
