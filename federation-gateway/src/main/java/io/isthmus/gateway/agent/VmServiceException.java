package io.isthmus.gateway.agent;

/** A refused VM service registration: a stable code, its HTTP status and a precise message. */
public final class VmServiceException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Every way a registration can be refused. */
    public enum Code {
        INVALID_REQUEST("invalid-request", 400),
        NAMESPACE_MISMATCH("namespace-mismatch", 403),
        OWNED_BY_ANOTHER_VM("owned-by-another-vm", 409),
        EXPORTED_BY_ANOTHER_SOURCE("exported-by-another-source", 409),
        NOT_FOUND("not-found", 404);

        private final String code;
        private final int status;

        Code(String code, int status) {
            this.code = code;
            this.status = status;
        }

        public String code() {
            return code;
        }

        public int status() {
            return status;
        }
    }

    private final Code code;

    public VmServiceException(Code code, String message) {
        super(message);
        this.code = code;
    }

    public Code code() {
        return code;
    }
}
