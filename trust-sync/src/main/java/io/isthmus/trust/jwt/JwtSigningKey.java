package io.isthmus.trust.jwt;

import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.interfaces.ECPublicKey;
import java.util.Base64;
import java.util.Objects;

import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.x509.Crypto;

/**
 * A trust domain's JWT signing authority: an EC P-256 key pair and the {@code kid} under which its public half is
 * published in the bundle ({@code use: jwt-svid}).
 */
public record JwtSigningKey(String keyId, KeyPair keys) {
    private static final SecureRandom RANDOM = new SecureRandom();

    public JwtSigningKey {
        Objects.requireNonNull(keys, "keys");
        if (keyId == null || keyId.isEmpty()) {
            throw new IllegalArgumentException("a JWT signing key needs a key ID (kid)");
        }
        if (!(keys.getPublic() instanceof ECPublicKey ec) || ec.getParams().getCurve().getField().getFieldSize() != 256) {
            throw new IllegalArgumentException("a JWT signing key must be EC P-256 (ES256), got "
                    + keys.getPublic().getAlgorithm());
        }
    }

    /**
     * A fresh key with a random 128-bit {@code kid}, as SPIRE names its keys: random rather than a thumbprint, so a
     * kid says nothing about the key and two domains never collide by construction.
     */
    public static JwtSigningKey generate() {
        byte[] id = new byte[16];
        RANDOM.nextBytes(id);
        return new JwtSigningKey(Base64.getUrlEncoder().withoutPadding().encodeToString(id), Crypto.generateEcP256());
    }

    /** The public half as the bundle publishes it. */
    public JwtAuthority authority() {
        return new JwtAuthority(keyId, keys.getPublic());
    }

    @Override
    public String toString() {
        return "JwtSigningKey[" + keyId + "]";
    }
}
