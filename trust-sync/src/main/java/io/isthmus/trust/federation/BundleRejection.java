package io.isthmus.trust.federation;

/** Why a peer's bundle was not accepted. The previous bundle of that peer stays in force. */
public enum BundleRejection {
    FETCH_FAILED,
    ENDPOINT_NOT_AUTHENTICATED,
    MALFORMED,
    WRONG_TRUST_DOMAIN,
    NO_AUTHORITIES,
    INVALID_AUTHORITY,
    SEQUENCE_WENT_BACKWARDS,
    SEQUENCE_REUSED;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
