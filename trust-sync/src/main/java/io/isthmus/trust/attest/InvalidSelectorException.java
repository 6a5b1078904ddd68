package io.isthmus.trust.attest;

/** A selector or registration entry that cannot be used; the message quotes it and says what was expected. */
public final class InvalidSelectorException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public InvalidSelectorException(String message) {
        super(message);
    }
}
