package io.isthmus.trust.bundle;

/** Why a SPIFFE bundle document (SPIFFE_Trust_Domain_and_Bundle.md section 4) was refused. */
public enum BundleFormatError {
    TOO_LARGE("is larger than the allowed size"),
    NOT_JSON("is not valid JSON"),
    NOT_AN_OBJECT("is not a JSON object (a JWK Set)"),
    KEYS_MISSING("has no 'keys' array"),
    KEY_NOT_OBJECT("has a 'keys' element that is not a JSON object"),
    USE_MISSING("has a key without the required 'use' parameter"),
    KTY_MISSING("has a key without the required 'kty' parameter"),
    BAD_SEQUENCE("has a 'spiffe_sequence' that is not a non-negative 64-bit integer"),
    BAD_REFRESH_HINT("has a 'spiffe_refresh_hint' that is not a positive number of seconds"),
    BAD_CERTIFICATE("has an 'x5c' value that is not a base64 DER X.509 certificate"),
    KEY_MISMATCH("has JWK key parameters that differ from the key of its certificate"),
    BAD_JWT_KEY("has a 'jwt-svid' key that cannot be used"),
    DUPLICATE_KEY_ID("has two 'jwt-svid' keys with the same 'kid'"),
    PRIVATE_KEY_PUBLISHED("has a key with private key parameters"),
    NO_AUTHORITIES("has no usable 'x509-svid' authority");

    private final String rule;

    BundleFormatError(String rule) {
        this.rule = rule;
    }

    public String rule() {
        return rule;
    }
}
