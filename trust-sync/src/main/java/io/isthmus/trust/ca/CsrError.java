package io.isthmus.trust.ca;

/** Why a PKCS#10 certificate request was refused. */
public enum CsrError {
    MALFORMED("is not a well-formed PKCS#10 request"),
    BAD_SIGNATURE("has a signature that does not verify with its own public key (the requester must hold the key)"),
    UNSUPPORTED_KEY("has an unsupported key; use ECDSA P-256 or RSA of at least 2048 bits");

    private final String rule;

    CsrError(String rule) {
        this.rule = rule;
    }

    public String rule() {
        return rule;
    }
}
