package io.isthmus.proxy.http.validate;

/** Carries a {@link RequestRefusal} as a request's failed decoder result, to the handler that answers it. */
public final class InvalidRequestException extends Exception {
    private static final long serialVersionUID = 1L;
    private final transient RequestVerdict.Invalid verdict;

    public InvalidRequestException(RequestVerdict.Invalid verdict) {
        super(verdict.reason().code() + ": " + verdict.detail(), null, false, false);
        this.verdict = verdict;
    }

    public RequestVerdict.Invalid verdict() {
        return verdict;
    }
}
