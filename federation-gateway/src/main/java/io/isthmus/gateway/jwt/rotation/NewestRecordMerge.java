package io.isthmus.gateway.jwt.rotation;

import io.isthmus.gateway.enrolment.ChosenCopyMerge;

/** How the rotation record's cache merges after a partition: the newest record wins ({@link NewestRecord#newest}). */
public final class NewestRecordMerge {
    public static final ChosenCopyMerge INSTANCE = new ChosenCopyMerge(NewestRecord::newest);

    private NewestRecordMerge() {
    }
}
