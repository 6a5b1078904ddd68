package io.isthmus.trust.ca;

/** Why a CA certificate may not act as the signing authority of a trust domain. */
public enum AuthorityError {
    NOT_CA("is not a CA certificate (basicConstraints CA:TRUE missing)"),
    NO_KEY_CERT_SIGN("lacks keyUsage keyCertSign"),
    NOT_FROM_FEDERATION_ROOT("is not signed by any federation root"),
    ROOT_EXPIRED("was signed by a federation root that is not valid now"),
    NO_NAME_CONSTRAINTS("has no URI name constraint; an Isthmus intermediate must be constrained to its trust domain"),
    WRONG_NAME_CONSTRAINTS("is constrained to other names than its trust domain"),
    EXPIRED("has expired"),
    NOT_YET_VALID("is not valid yet");

    private final String rule;

    AuthorityError(String rule) {
        this.rule = rule;
    }

    public String rule() {
        return rule;
    }
}
