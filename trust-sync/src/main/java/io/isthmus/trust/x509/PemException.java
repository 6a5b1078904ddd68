package io.isthmus.trust.x509;

/** A PEM file or block could not be read as what the caller asked for. */
public final class PemException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public PemException(String message) {
        super(message);
    }

    public PemException(String message, Throwable cause) {
        super(message, cause);
    }
}
