package io.isthmus.gateway.enrolment;

import java.time.Instant;
import java.util.Objects;
import java.util.regex.Pattern;

import io.isthmus.trust.spiffe.SpiffeId;

/**
 * A join token as the gateway stores it: never the secret, only its SHA-256 hash. Bound to one identity; usable
 * {@code maxUses} times before {@code expiresAt}, unless revoked. Changes return a new instance.
 *
 * @param id public handle (listed and revoked by it; it is not a credential)
 * @param secretHash lowercase hex SHA-256 of the secret part of the token
 */
public record JoinToken(String id, SpiffeId identity, String secretHash, Instant createdAt, Instant expiresAt,
        int maxUses, int uses, boolean revoked) {
    static final Pattern ID = Pattern.compile("[A-Za-z0-9_-]{16,64}");
    private static final Pattern HEX_SHA256 = Pattern.compile("[0-9a-f]{64}");

    public JoinToken {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(identity, "identity");
        Objects.requireNonNull(secretHash, "secretHash");
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(expiresAt, "expiresAt");
        if (!ID.matcher(id).matches()) {
            throw new IllegalArgumentException("join token id '" + id + "' is not 16-64 characters of [A-Za-z0-9_-]");
        }
        if (!HEX_SHA256.matcher(secretHash).matches()) {
            throw new IllegalArgumentException("join token secret hash must be 64 lowercase hex characters (SHA-256)");
        }
        if (identity.path().isEmpty()) {
            throw new IllegalArgumentException("join token identity " + identity + " has no path; a VM needs a workload ID");
        }
        if (!expiresAt.isAfter(createdAt)) {
            throw new IllegalArgumentException("join token expiry " + expiresAt + " is not after its creation " + createdAt);
        }
        if (maxUses < 1) {
            throw new IllegalArgumentException("join token max uses must be at least 1, got " + maxUses);
        }
        if (uses < 0 || uses > maxUses) {
            throw new IllegalArgumentException("join token uses " + uses + " outside [0, " + maxUses + "]");
        }
    }

    /** The same token with one more use recorded. */
    public JoinToken withUse() {
        return new JoinToken(id, identity, secretHash, createdAt, expiresAt, maxUses, uses + 1, revoked);
    }

    public JoinToken withRevoked() {
        return new JoinToken(id, identity, secretHash, createdAt, expiresAt, maxUses, uses, true);
    }

    public int remainingUses() {
        return maxUses - uses;
    }
}
