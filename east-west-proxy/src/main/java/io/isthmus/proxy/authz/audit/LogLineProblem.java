package io.isthmus.proxy.authz.audit;

import java.util.Locale;

/** Why a line of a decision log was refused by {@link DecisionLogReader}. Stable codes, printed by the CLI. */
public enum LogLineProblem {
    /** The JSON ends before the object does: a line cut off by a crash, a full disk or a copy. */
    TRUNCATED,
    /** Not JSON at all, or JSON followed by something else. */
    NOT_JSON,
    /** JSON, but not an object. */
    NOT_AN_OBJECT,
    /** Longer than {@link DecisionLogFormat#MAX_LINE_CHARS}; skipped without being held in memory. */
    TOO_LONG,
    /** No {@code version} field: not a decision line of a versioned log. */
    MISSING_VERSION,
    /** A {@code version} this reader does not read (newer, never written, or not a number). */
    UNSUPPORTED_VERSION,
    /** A field the version requires is absent. */
    MISSING_FIELD,
    /** A field has a value the version does not allow (wrong type, not a SPIFFE ID, port out of range...). */
    INVALID_FIELD,
    /** Fields contradict each other (a caller outside its stated trust domain, a TCP line with a path...). */
    INCONSISTENT,
    /** The same field twice: which one a reader took would decide what the line says. */
    DUPLICATE_FIELD;

    public String code() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
