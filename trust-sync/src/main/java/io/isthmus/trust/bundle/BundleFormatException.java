package io.isthmus.trust.bundle;

/** A bundle document was refused as a whole; nothing from it was applied. */
public final class BundleFormatException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final BundleFormatError error;

    public BundleFormatException(BundleFormatError error, String source, String detail) {
        super("bundle " + source + " " + error.rule() + (detail == null || detail.isEmpty() ? "" : ": " + detail));
        this.error = error;
    }

    public BundleFormatError error() {
        return error;
    }
}
