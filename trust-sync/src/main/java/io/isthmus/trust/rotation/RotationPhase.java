package io.isthmus.trust.rotation;

import java.util.Locale;

/**
 * Where a rotation of this cluster's signing authority stands; each constant names the last step completed. The
 * {@code wait} step of the runbook is the time spent in {@link #PUBLISHED}: the new CA is in this cluster's bundle
 * and the rotation waits until every peer holds it. Stable names: they appear in the API, the CLI and metrics.
 */
public enum RotationPhase {
    /** No rotation in progress (never rotated, or the last one was retired or aborted). */
    IDLE,
    /** A new key was generated in the cluster and its CSR written; waiting for the root to sign it. */
    PREPARED,
    /** The signed intermediate was checked (trust domain, root, validity, key) and stored. */
    SIGNED,
    /** The new CA is in this cluster's bundle next to the active one; peers are fetching it ({@code wait}). */
    PUBLISHED,
    /** New SVIDs are signed by the new CA; the old one stays in the bundle until what it signed has expired. */
    ACTIVATED,
    /** The old CA left the bundle; the rotation is complete. */
    RETIRED;

    /** {@code published}, as the API and CLI print it. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The runbook's name of the step the rotation is in or waits for next. */
    public String step() {
        return switch (this) {
            case IDLE, RETIRED -> "idle";
            case PREPARED -> "sign";
            case SIGNED -> "publish";
            case PUBLISHED -> "wait";
            case ACTIVATED -> "retire";
        };
    }

    public boolean inProgress() {
        return this != IDLE && this != RETIRED;
    }

    public static RotationPhase parse(String label) {
        try {
            return valueOf(label.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("unknown rotation phase '" + label + "'");
        }
    }
}
