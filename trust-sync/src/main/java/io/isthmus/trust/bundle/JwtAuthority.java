package io.isthmus.trust.bundle;

import java.security.PublicKey;
import java.util.Objects;

/** A JWT-SVID signing key of a trust domain, named by its JWK {@code kid}. */
public record JwtAuthority(String keyId, PublicKey publicKey) {
    public JwtAuthority {
        Objects.requireNonNull(publicKey, "publicKey");
        if (keyId == null || keyId.isEmpty()) {
            throw new IllegalArgumentException("a JWT authority needs a key ID (kid)");
        }
    }
}
