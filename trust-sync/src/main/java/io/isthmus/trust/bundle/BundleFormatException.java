package io.isthmus.trust.bundle;

import io.isthmus.trust.text.Printable;

/**
 * A bundle document was refused as a whole; nothing from it was applied. The detail quotes the publisher's strings (a
 * kid, a curve name, a parser's message) and ends up in the peer's last error, {@code isthmus check} and the log, so
 * it is {@linkplain Printable#escape escaped} here, once for every rule.
 */
public final class BundleFormatException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final BundleFormatError error;

    public BundleFormatException(BundleFormatError error, String source, String detail) {
        super("bundle " + source + " " + error.rule() + (detail == null || detail.isEmpty() ? "" : ": " + Printable.escape(detail)));
        this.error = error;
    }

    public BundleFormatError error() {
        return error;
    }
}
