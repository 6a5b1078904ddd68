package io.isthmus.registry.signing;

/** Why a site does not use a registry record it received. One constant per rule. */
public enum EntryRefusal {
    /** The value is not a registry record at all (not JSON, a field missing). */
    MALFORMED,
    /** The record describes another key than the one it was stored under. */
    KEY_MISMATCH,
    /** The key's cluster is not one this site knows (not configured, not a member). */
    UNKNOWN_OWNER,
    /** The cross-site version names another site than the owner as the writer. */
    WRITTEN_BY_OTHER_SITE,
    /** No signature: a gateway from before signed entries, or a forger. */
    UNSIGNED,
    /** The signer's certificate is not an SVID that the owner's current bundle vouches for. */
    SIGNER_NOT_TRUSTED,
    /** The signer is an identity of another trust domain than the owner's. */
    FOREIGN_SIGNER,
    /** The signer is of the owner's trust domain but not one of its gateways. */
    NOT_A_GATEWAY,
    /** The signature does not match the bytes: a field was changed after signing. */
    BAD_SIGNATURE,
    /** The record says it was signed when the signer's certificate was not valid. */
    SIGNED_OUTSIDE_VALIDITY,
    /** Signed later than now (beyond the allowed clock skew). */
    FROM_THE_FUTURE,
    /** Older than the version of the key this site already holds: a replay. */
    REPLAYED,
    /** The key vanished from the cache without a signed removal. */
    UNSIGNED_REMOVAL;

    /** Refusals that a change of trust (a bundle or the membership) can cause for a record that was accepted. */
    public boolean trustRevoked() {
        return this == SIGNER_NOT_TRUSTED || this == UNKNOWN_OWNER || this == FOREIGN_SIGNER || this == NOT_A_GATEWAY;
    }

    /** The metric label. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
