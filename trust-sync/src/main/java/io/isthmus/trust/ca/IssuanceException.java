package io.isthmus.trust.ca;

/** The CA refused to sign: the request is well-formed but not allowed (wrong trust domain, lifetime). */
public final class IssuanceException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public IssuanceException(String message) {
        super(message);
    }
}
