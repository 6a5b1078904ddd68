package io.isthmus.trust.spiffe;

import io.isthmus.trust.text.Printable;

/** A SPIFFE ID or trust domain name broke one rule of the specification; {@link #error()} says which. */
public final class InvalidSpiffeIdException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private static final int MAX_QUOTED = 120;

    private final SpiffeIdError error;
    private final String input;

    public InvalidSpiffeIdException(SpiffeIdError error, String input) {
        super("SPIFFE ID '" + abbreviate(input) + "' " + error.rule());
        this.error = error;
        this.input = input;
    }

    public SpiffeIdError error() {
        return error;
    }

    public String input() {
        return input;
    }

    private static String abbreviate(String s) {
        if (s == null) {
            return "";
        }
        // The input comes from anyone (a certificate's URI SAN, a header, a peer's record) and the message is logged.
        return Printable.escape(s.length() <= MAX_QUOTED ? s : s.substring(0, MAX_QUOTED)) + (s.length() <= MAX_QUOTED ? ""
                : "…(" + s.length() + " chars)");
    }
}
