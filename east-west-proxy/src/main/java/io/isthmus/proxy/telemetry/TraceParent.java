package io.isthmus.proxy.telemetry;

import java.util.Objects;

/**
 * A W3C Trace Context {@code traceparent} (https://www.w3.org/TR/trace-context/): the trace a request belongs to, the
 * span that sent it, and the trace flags. Written as version {@code 00}; {@link #parse} reads version 00 and, as the
 * specification asks, the first four fields of any later version. Immutable.
 *
 * @param traceId  32 lowercase hex digits, not all zero
 * @param parentId 16 lowercase hex digits, not all zero: the span of whoever sends the header
 * @param flags    the trace flags; bit 0 is {@code sampled}
 */
public record TraceParent(String traceId, String parentId, int flags) {
    public static final String HEADER = "traceparent";
    public static final String STATE_HEADER = "tracestate";

    public TraceParent {
        Objects.requireNonNull(traceId, "traceId");
        Objects.requireNonNull(parentId, "parentId");
        if (!lowerHex(traceId, 32) || traceId.chars().allMatch(c -> c == '0')) {
            throw new IllegalArgumentException("trace-id '" + traceId + "' is not 32 lowercase hex digits, not all zero");
        }
        if (!lowerHex(parentId, 16) || parentId.chars().allMatch(c -> c == '0')) {
            throw new IllegalArgumentException("parent-id '" + parentId + "' is not 16 lowercase hex digits, not all zero");
        }
        if (flags < 0 || flags > 0xff) {
            throw new IllegalArgumentException("trace flags " + flags + " do not fit in one byte");
        }
    }

    /** The verdict on a received header value: parsed, or why it must be ignored. */
    public sealed interface Verdict {
        record Parsed(TraceParent value) implements Verdict {
        }

        record Invalid(TraceParentError reason, String detail) implements Verdict {
        }
    }

    public static Verdict parse(String header) {
        if (header == null) {
            return invalid(TraceParentError.MISSING, "no traceparent");
        }
        String h = header.strip();
        if (h.length() < 55) {
            return invalid(TraceParentError.MALFORMED, "'" + printable(h) + "' is shorter than the 55 characters of "
                    + "version-traceid-parentid-flags");
        }
        String version = h.substring(0, 2);
        if (!lowerHex(version, 2) || version.equals("ff")) {
            return invalid(TraceParentError.BAD_VERSION, "version '" + printable(version) + "' is not 00-fe in"
                    + " lowercase hex");
        }
        if (version.equals("00") ? h.length() != 55 : h.length() > 55 && h.charAt(55) != '-') {
            return invalid(TraceParentError.MALFORMED, "'" + printable(h) + "' has characters after the flags"
                    + (version.equals("00") ? ", which version 00 does not allow" : " not separated by '-'"));
        }
        if (h.charAt(2) != '-' || h.charAt(35) != '-' || h.charAt(52) != '-') {
            return invalid(TraceParentError.MALFORMED, "'" + printable(h) + "' is not separated by '-' as"
                    + " version-traceid-parentid-flags");
        }
        String traceId = h.substring(3, 35);
        String parentId = h.substring(36, 52);
        String flags = h.substring(53, 55);
        if (!lowerHex(traceId, 32) || traceId.chars().allMatch(c -> c == '0')) {
            return invalid(TraceParentError.BAD_TRACE_ID, "trace-id '" + printable(traceId)
                    + "' is not 32 lowercase hex digits, not all zero");
        }
        if (!lowerHex(parentId, 16) || parentId.chars().allMatch(c -> c == '0')) {
            return invalid(TraceParentError.BAD_PARENT_ID, "parent-id '" + printable(parentId)
                    + "' is not 16 lowercase hex digits, not all zero");
        }
        if (!lowerHex(flags, 2)) {
            return invalid(TraceParentError.BAD_FLAGS, "trace-flags '" + printable(flags) + "' are not 2 lowercase"
                    + " hex digits");
        }
        return new Verdict.Parsed(new TraceParent(traceId, parentId, Integer.parseInt(flags, 16)));
    }

    public boolean sampled() {
        return (flags & 1) == 1;
    }

    /** The header this hop sends on: the same trace, sent by {@code spanId}. */
    public TraceParent sentBy(String spanId) {
        return new TraceParent(traceId, spanId, flags);
    }

    /** {@code 00-<trace-id>-<parent-id>-<flags>}. */
    public String header() {
        return "00-" + traceId + "-" + parentId + "-" + String.format("%02x", flags);
    }

    private static Verdict invalid(TraceParentError reason, String detail) {
        return new Verdict.Invalid(reason, detail);
    }

    private static boolean lowerHex(String s, int length) {
        if (s.length() != length) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            b.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\x%02x", (int) c));
        }
        return b.toString();
    }
}
