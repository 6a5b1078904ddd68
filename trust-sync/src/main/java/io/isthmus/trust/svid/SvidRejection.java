package io.isthmus.trust.svid;

/** Why an X.509-SVID was not accepted. Stable names: they appear in metrics labels and audit logs. */
public enum SvidRejection {
    EMPTY_CHAIN,
    NO_URI_SAN,
    MULTIPLE_URI_SANS,
    INVALID_SPIFFE_ID,
    LEAF_IS_CA,
    LEAF_KEY_USAGE,
    EXPIRED,
    NOT_YET_VALID,
    NO_BUNDLE_FOR_TRUST_DOMAIN,
    SIGNER_NOT_IN_BUNDLE,
    OUTSIDE_NAME_CONSTRAINTS,
    UNKNOWN_ROOT,
    BAD_SIGNATURE,
    SIGNER_EXPIRED,
    SIGNER_NOT_YET_VALID,
    /** The peer's SPIFFE ID is valid but not the one this connection expects. */
    UNEXPECTED_ID;

    /** Lowercase with dashes, for metric labels: {@code signer-not-in-bundle}. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
