package io.isthmus.proxy.http;

/** Quoting what a client sent in a refusal's detail, so that no byte of it can break a log line or a JSON body. */
public final class Ascii {
    private Ascii() {
    }

    /** {@code s} with controls and non-ASCII escaped as {@code \xNN}, cut at 256 characters. */
    public static String printable(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), 256));
        for (int i = 0; i < s.length() && b.length() < 256; i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c < 0x7f) {
                b.append(c);
            } else {
                b.append(String.format("\\x%02X", (int) c));
            }
        }
        return b.toString();
    }

    /** {@code 'c'} for a visible ASCII character, else {@code the byte 0xNN}. */
    public static String describe(char c) {
        return c > 0x20 && c < 0x7f ? "'" + c + "'" : String.format("the byte 0x%02X", (int) c);
    }
}
