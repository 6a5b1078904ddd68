package io.isthmus.agent.attest;

/** The caller could not be attested (its process is gone, or its binary cannot be read); nothing is issued. */
public final class AttestationException extends Exception {
    private static final long serialVersionUID = 1L;

    public AttestationException(String message, Throwable cause) {
        super(message, cause);
    }
}
