package io.isthmus.gateway.enrolment;

import java.time.Instant;

/**
 * Whether a presented secret may use a stored token at {@code now}. Pure: no I/O, no clock of its own. Order of
 * checks: unknown (absent or wrong secret, indistinguishable on purpose), revoked, used up, expired.
 */
public final class JoinTokenPolicy {
    private JoinTokenPolicy() {
    }

    /** @return null when the token may be used now, otherwise the rejection */
    public static TokenVerdict.Rejected check(String presentedId, JoinToken stored, String presentedSecret, Instant now) {
        if (stored == null || presentedSecret == null || !JoinTokenSecrets.matches(presentedSecret, stored.secretHash())) {
            return new TokenVerdict.Rejected(TokenRejection.UNKNOWN, "join token " + presentedId + ": "
                    + TokenRejection.UNKNOWN.advice());
        }
        if (stored.revoked()) {
            return new TokenVerdict.Rejected(TokenRejection.REVOKED, "join token " + stored.id() + " for "
                    + stored.identity() + ": " + TokenRejection.REVOKED.advice());
        }
        if (stored.uses() >= stored.maxUses()) {
            return new TokenVerdict.Rejected(TokenRejection.USED, "join token " + stored.id() + " for " + stored.identity()
                    + " was used " + stored.uses() + " of " + stored.maxUses() + " time(s): " + TokenRejection.USED.advice());
        }
        if (!now.isBefore(stored.expiresAt())) {
            return new TokenVerdict.Rejected(TokenRejection.EXPIRED, "join token " + stored.id() + " for "
                    + stored.identity() + " expired at " + stored.expiresAt() + " (now " + now + "): "
                    + TokenRejection.EXPIRED.advice());
        }
        return null;
    }
}
