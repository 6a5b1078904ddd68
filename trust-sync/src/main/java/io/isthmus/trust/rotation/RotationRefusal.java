package io.isthmus.trust.rotation;

/**
 * Why a rotation step was refused. Nothing changed, in memory or on disk. Stable codes: they are the API's error
 * codes and what scripts match on.
 */
public enum RotationRefusal {
    MALFORMED("malformed", "is not a PEM certificate chain"),
    NOT_A_CA("not-a-ca", "is not a CA certificate with keyCertSign"),
    WRONG_TRUST_DOMAIN("wrong-trust-domain", "is name-constrained to another trust domain than this cluster's"),
    NO_NAME_CONSTRAINTS("no-name-constraints", "has no URI name constraint to this cluster's trust domain"),
    NOT_UNDER_A_ROOT("not-under-a-root", "is not signed by any federation root this gateway holds"),
    ROOT_EXPIRED("root-expired", "was signed by a federation root that is not valid now"),
    EXPIRED("expired", "has expired"),
    NOT_YET_VALID("not-yet-valid", "is not valid yet"),
    KEY_MISMATCH("key-mismatch", "is not for the key this cluster prepared (its public key differs from the CSR's)"),
    NOT_PREPARED("not-prepared", "cannot be done: no rotation was prepared"),
    WRONG_PHASE("wrong-phase", "cannot be done in the rotation's current phase"),
    ROTATION_IN_PROGRESS("rotation-in-progress", "cannot start: another rotation is in progress"),
    PEERS_LACK_CA("peers-lack-ca", "would break peers that do not hold the new CA yet"),
    AGENTS_MAY_LACK_CA("agents-may-lack-ca", "is too early: VM agents may not have fetched the new bundle yet"),
    NOT_DUE("not-due", "is too early: SVIDs signed by the old CA may still be valid"),
    ROOT_STILL_NEEDED("root-still-needed", "would remove a root that this cluster's signing CA chains to");

    private final String code;
    private final String rule;

    RotationRefusal(String code, String rule) {
        this.code = code;
        this.rule = rule;
    }

    /** {@code key-mismatch}: the API error code. */
    public String code() {
        return code;
    }

    public String rule() {
        return rule;
    }
}
