package io.isthmus.trust.membership;

/**
 * Why a membership document was not taken. Each constant is one rule; {@link #code()} is the stable name an API
 * answer, a log line and the CLI print.
 */
public enum MembershipRefusal {
    /** Not a JWS at all, a JWS with {@code alg: none}, or one without a signature. */
    UNSIGNED("unsigned"),
    /** The signature does not verify under the certificate the document names as its signer. */
    BAD_SIGNATURE("bad-signature"),
    /** Signed by a CA that is not a federation root (a cluster's intermediate): only a root may change membership. */
    SIGNED_BY_INTERMEDIATE("signed-by-intermediate"),
    /** Signed by a certificate that is not a CA at all (an SVID, a leaf). */
    SIGNED_BY_LEAF("signed-by-leaf"),
    /** Signed by a self-signed root that is not one of this gateway's federation roots. */
    UNKNOWN_ROOT("unknown-root"),
    /** Its version is not higher than the one held: an old document replayed, or the same one again. */
    VERSION_NOT_NEWER("version-not-newer"),
    /** Two members share a name. */
    DUPLICATE_NAME("duplicate-name"),
    /** Two members share a trust domain. */
    DUPLICATE_TRUST_DOMAIN("duplicate-trust-domain"),
    /** A new member's bundle endpoint or bundle does not chain to a federation root under its trust domain. */
    MEMBER_NOT_UNDER_ROOT("member-not-under-root"),
    /** The document lists this cluster's trust domain under another name, or its name with another trust domain. */
    SELF_MISMATCH("self-mismatch"),
    /** Not valid JSON, a field missing or of the wrong shape, an unknown field, a bad URL, address or identity. */
    MALFORMED("malformed");

    private final String code;

    MembershipRefusal(String code) {
        this.code = code;
    }

    public String code() {
        return code;
    }
}
