package io.isthmus.trust.ca;

/** A certificate request was refused; nothing was signed. */
public final class CsrException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final CsrError error;

    public CsrException(CsrError error, String detail) {
        super("certificate request " + error.rule() + (detail == null || detail.isEmpty() ? "" : ": " + detail));
        this.error = error;
    }

    public CsrError error() {
        return error;
    }
}
