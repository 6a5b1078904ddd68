package io.isthmus.trust.jwt;

/** A JWT key rotation step that cannot be taken now; the message says which step to take instead. */
public final class JwtRotationException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public JwtRotationException(String message) {
        super(message);
    }
}
