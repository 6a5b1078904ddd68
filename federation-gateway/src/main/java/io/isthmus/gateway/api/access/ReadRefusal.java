package io.isthmus.gateway.api.access;

/**
 * Why a read of the API port ({@code /v1/services}, the bundle list) was refused. The codes are stable: they are
 * the {@code code} of the error body and the {@code reason} tag of {@code isthmus_api_read_refusals_total}.
 */
public enum ReadRefusal {
    /** Plain HTTP: a bearer token or the absence of a client certificate cannot be trusted on it. */
    TLS_REQUIRED("tls-required", 403),
    /** Neither a client SVID nor an Authorization header. */
    UNAUTHENTICATED("read-unauthenticated", 401),
    /** An Authorization header that is not {@code Bearer <bootstrap admin token>}. */
    TOKEN_REJECTED("read-token-rejected", 401),
    /**
     * A client SVID that does not verify now under the federation's bundles (foreign root, expired, its trust domain
     * or signing CA revoked since the connection was made).
     */
    SVID_REJECTED("read-svid-rejected", 401);

    private final String code;
    private final int status;

    ReadRefusal(String code, int status) {
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
