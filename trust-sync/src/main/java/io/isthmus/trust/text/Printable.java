package io.isthmus.trust.text;

/**
 * Text that came from someone else (a peer gateway, a VM agent, a request), made safe to put in front of an operator:
 * a terminal line, a plain-text log line. A terminal acts on control characters (ESC starts CSI and OSC sequences that
 * move the cursor, erase lines, retitle the window or hide a hyperlink; CR returns to the line's start and overwrites
 * it; BEL ends an OSC), and a log reader takes LF for a new entry, so a peer's string printed raw could forge
 * {@code ✓ peer-bundle beta} over a failing check or a log entry of its choosing. Unicode format characters (bidi
 * overrides and isolates, zero-width characters, tags) reorder or hide text the same way.
 *
 * <p>{@link #escape} keeps every other character, non-ASCII letters and symbols included, and writes each of these
 * visibly instead: backslash-x and two hex digits up to U+00FF, backslash-u and four in the BMP, backslash-U and eight
 * beyond. Pure and
 * thread-safe.
 */
public final class Printable {
    private Printable() {
    }

    /** {@code s} with every control, format and separator character escaped; {@code "null"} for null. */
    public static String escape(String s) {
        if (s == null) {
            return "null";
        }
        if (isSafe(s)) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            if (mustEscape(cp)) {
                if (cp <= 0xFF) {
                    b.append(String.format("\\x%02X", cp));
                } else if (cp <= 0xFFFF) {
                    b.append(String.format("\\u%04X", cp));
                } else {
                    b.append(String.format("\\U%08X", cp));
                }
            } else {
                b.appendCodePoint(cp);
            }
            i += Character.charCount(cp);
        }
        return b.toString();
    }

    /** True when {@link #escape} would return {@code s} unchanged. */
    public static boolean isSafe(String s) {
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            if (mustEscape(cp)) {
                return false;
            }
            i += Character.charCount(cp);
        }
        return true;
    }

    /**
     * C0 and C1 controls and DEL (a UTF-8 terminal may read U+009B as CSI), format characters (U+200B-U+200F,
     * U+202A-U+202E, U+2066-U+2069, U+FEFF, tags), line and paragraph separators, and halves of a surrogate pair that
     * stand alone.
     */
    static boolean mustEscape(int cp) {
        if (cp >= 0x20 && cp < 0x7F) {
            return false;
        }
        return switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                    Character.SURROGATE, Character.UNASSIGNED, Character.PRIVATE_USE -> true;
            default -> false;
        };
    }
}
