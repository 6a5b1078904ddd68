package io.isthmus.gateway.enrolment;

/** Why a join token was refused. The codes are stable: they appear in API errors, audit lines and metrics. */
public enum TokenRejection {
    UNKNOWN("token-unknown", "the join token is not known to this cluster (mistyped, forged, or already deleted); "
            + "create a new one with 'isthmus token create'"),
    EXPIRED("token-expired", "the join token has expired; create a new one with 'isthmus token create'"),
    USED("token-used", "the join token has already been used as many times as allowed; create a new one"),
    REVOKED("token-revoked", "the join token was revoked by an administrator"),
    IDENTITY_REVOKED("identity-revoked", "the identity this join token is bound to has been revoked");

    private final String code;
    private final String advice;

    TokenRejection(String code, String advice) {
        this.code = code;
        this.advice = advice;
    }

    public String code() {
        return code;
    }

    public String advice() {
        return advice;
    }
}
