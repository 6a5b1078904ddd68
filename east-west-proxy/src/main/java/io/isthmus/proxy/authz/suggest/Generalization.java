package io.isthmus.proxy.authz.suggest;

import java.util.Locale;

/** Why a path segment of a suggested policy is a wildcard instead of what was observed. Printed for review. */
public enum Generalization {
    /** A segment of digits only ({@code /orders/12345}). */
    NUMBER("a number"),
    /** A UUID ({@code 8-4-4-4-12} hex digits). */
    UUID("a UUID"),
    /** Eight or more hex digits with at least one digit ({@code 5f2b9c1e}, an ObjectId, a hash). */
    HEX_ID("a hex id"),
    /**
     * More than {@link PathTrie#FAN_OUT} distinct values were seen at this position after the same prefix: an id
     * of a shape not recognized above ({@code ord_8f7a}), or a large set of names.
     */
    FAN_OUT("more than " + PathTrie.FAN_OUT + " distinct values at this position"),
    /** A segment holding {@code *}, {@code {} or {@code }}, which a policy cannot match literally. */
    UNMATCHABLE("a segment with '*', '{' or '}', which a policy cannot match literally"),
    /** Segments beyond {@link PathGeneralizer#MAX_SEGMENTS} are covered by {@code {**}}. */
    DEEP("deeper than " + PathGeneralizer.MAX_SEGMENTS + " segments");

    private final String description;

    Generalization(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }

    public String code() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
