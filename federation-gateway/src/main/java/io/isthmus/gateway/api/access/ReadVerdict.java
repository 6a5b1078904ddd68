package io.isthmus.gateway.api.access;

/** The outcome of {@link ReadAccess#decide}: who may read, or exactly why not. */
public sealed interface ReadVerdict {

    /** How a granted reader authenticated. */
    enum Via { FEDERATED_SVID, BOOTSTRAP_TOKEN }

    /** @param principal the reader's SPIFFE ID, or {@code bootstrap-admin} */
    record Granted(String principal, Via via) implements ReadVerdict {
    }

    /** @param detail what was wrong and what to present instead; never contains a token */
    record Refused(ReadRefusal reason, String detail) implements ReadVerdict {
    }
}
