package io.isthmus.proxy.telemetry;

/** Why a received {@code traceparent} is ignored (the hop then starts a new trace, and drops {@code tracestate}). */
public enum TraceParentError {
    MISSING,
    /** Too short, separators missing, or trailing data version 00 does not allow. */
    MALFORMED,
    /** Not two lowercase hex digits, or {@code ff}. */
    BAD_VERSION,
    BAD_TRACE_ID,
    BAD_PARENT_ID,
    BAD_FLAGS,
    /** More than one {@code traceparent} header: which one is meant is undefined. */
    REPEATED
}
