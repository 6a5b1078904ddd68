package io.isthmus.gateway.enrolment;

import io.isthmus.trust.ca.CsrError;

/** Every way an enrolment, renewal or admin call can be refused: a stable code and its HTTP status. */
public enum EnrolmentError {
    INVALID_REQUEST("invalid-request", 400),
    TOKEN_UNKNOWN(TokenRejection.UNKNOWN.code(), 401),
    TOKEN_EXPIRED(TokenRejection.EXPIRED.code(), 401),
    TOKEN_USED(TokenRejection.USED.code(), 401),
    TOKEN_REVOKED(TokenRejection.REVOKED.code(), 401),
    IDENTITY_REVOKED(TokenRejection.IDENTITY_REVOKED.code(), 403),
    CSR_MALFORMED("csr-malformed", 400),
    CSR_BAD_SIGNATURE("csr-bad-signature", 400),
    CSR_UNSUPPORTED_KEY("csr-unsupported-key", 400),
    TLS_REQUIRED("tls-required", 403),
    CLIENT_CERTIFICATE_REQUIRED("client-certificate-required", 401),
    PEER_REJECTED("peer-svid-rejected", 401),
    NOT_A_VM_IDENTITY("not-a-vm-identity", 403),
    IDENTITY_NOT_ENROLLED("identity-not-enrolled", 403),
    /**
     * A workload SVID (one the gateway signed for an agent, {@link AgentCredential}) called an agent-only endpoint;
     * only the agent's own SVID, from enrolment or renewal, may.
     */
    WORKLOAD_SVID_NOT_AN_AGENT("workload-svid-not-an-agent", 403),
    /** An agent asked for a workload SVID outside its own SPIFFE ID path ({@link AgentSubjects}). */
    WORKLOAD_ID_REFUSED("workload-id-refused", 403),
    ADMIN_UNAUTHENTICATED("admin-unauthenticated", 401),
    ADMIN_FORBIDDEN("admin-forbidden", 403),
    NOT_FOUND("not-found", 404),
    RATE_LIMITED("rate-limited", 429),
    RATE_LIMIT_UNAVAILABLE("rate-limit-unavailable", 503),
    STORE_UNAVAILABLE("store-unavailable", 503),
    /**
     * This replica has seen only a minority of its cluster's replicas for longer than the cut-off grace, so it cannot
     * rule out a revocation made elsewhere ({@link CutOffRenewal}).
     */
    REPLICA_CUT_OFF("replica-cut-off", 503),
    ISSUANCE_FAILED("issuance-failed", 500);

    private final String code;
    private final int status;

    EnrolmentError(String code, int status) {
        this.code = code;
        this.status = status;
    }

    public String code() {
        return code;
    }

    public int status() {
        return status;
    }

    public static EnrolmentError of(TokenRejection r) {
        return switch (r) {
            case UNKNOWN -> TOKEN_UNKNOWN;
            case EXPIRED -> TOKEN_EXPIRED;
            case USED -> TOKEN_USED;
            case REVOKED -> TOKEN_REVOKED;
            case IDENTITY_REVOKED -> IDENTITY_REVOKED;
        };
    }

    public static EnrolmentError of(CsrError e) {
        return switch (e) {
            case MALFORMED -> CSR_MALFORMED;
            case BAD_SIGNATURE -> CSR_BAD_SIGNATURE;
            case UNSUPPORTED_KEY -> CSR_UNSUPPORTED_KEY;
        };
    }
}
