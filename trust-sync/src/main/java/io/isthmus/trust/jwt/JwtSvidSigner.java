package io.isthmus.trust.jwt;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.Signature;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Signs JWT-SVIDs: JWS compact serialization, ES256, header {@code alg}, {@code kid}, {@code typ: JWT}; claims
 * {@code sub}, {@code aud} (always an array), {@code exp} and {@code iat}. Pure: no I/O, no clock of its own, no
 * state; thread-safe. Whether the caller may have a token for {@code subject} is decided before this is called.
 */
public final class JwtSvidSigner {
    private JwtSvidSigner() {
    }

    /**
     * @throws IllegalArgumentException when {@code audience} is empty or holds a blank entry, or {@code ttl} is shorter
     *     than 1 second
     */
    public static JwtSvid sign(JwtSigningKey key, SpiffeId subject, List<String> audience, Instant now, Duration ttl) {
        if (audience.isEmpty() || audience.stream().anyMatch(a -> a == null || a.isBlank())) {
            throw new IllegalArgumentException("a JWT-SVID needs at least one non-blank audience, got " + audience);
        }
        if (ttl.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("a JWT-SVID lifetime must be at least 1 second, got " + ttl);
        }
        // Whole seconds: exp and iat are NumericDate seconds, and the expiry reported must be the one in the token. Both
        // are rounded down, so that the token never outlives now + ttl (a caller that bounds ttl by a deadline, as a
        // cut-off replica does by the end of its grace, gets a token that expires by that deadline).
        Instant iat = Instant.ofEpochSecond(now.getEpochSecond());
        Instant exp = Instant.ofEpochSecond(now.plus(ttl).getEpochSecond());
        ObjectNode header = Jose.JSON.createObjectNode().put("alg", "ES256").put("kid", key.keyId()).put("typ", "JWT");
        ObjectNode claims = Jose.JSON.createObjectNode().put("sub", subject.toString());
        audience.forEach(claims.putArray("aud")::add);
        claims.put("exp", exp.getEpochSecond()).put("iat", iat.getEpochSecond());
        try {
            String input = Jose.b64(Jose.JSON.writeValueAsBytes(header)) + "." + Jose.b64(Jose.JSON.writeValueAsBytes(claims));
            Signature signer = Signature.getInstance("SHA256withECDSAinP1363Format");
            signer.initSign(key.keys().getPrivate());
            signer.update(input.getBytes(StandardCharsets.US_ASCII));
            String token = input + "." + Jose.b64(signer.sign());
            Map<String, Object> asMap = new LinkedHashMap<>();
            asMap.put("sub", subject.toString());
            asMap.put("aud", List.copyOf(audience));
            asMap.put("exp", exp.getEpochSecond());
            asMap.put("iat", iat.getEpochSecond());
            return new JwtSvid(subject, audience, exp, token, asMap);
        } catch (JsonProcessingException | GeneralSecurityException e) {
            throw new IllegalStateException("signing a JWT-SVID with ES256 failed: " + e.getMessage(), e);
        }
    }
}
