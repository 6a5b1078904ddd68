package io.isthmus.gateway.enrolment;

/**
 * A join token or VM identity entry read from the replicated store is not a valid entry of this version. Callers
 * treat it as the store being unavailable (a refusal with {@code store-unavailable}, nothing issued or changed).
 */
public final class CorruptEntryException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public CorruptEntryException(String message, Throwable cause) {
        super(message, cause);
    }
}
