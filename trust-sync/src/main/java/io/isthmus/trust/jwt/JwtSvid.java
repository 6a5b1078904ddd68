package io.isthmus.trust.jwt;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import io.isthmus.trust.spiffe.SpiffeId;

/**
 * A JWT-SVID: the compact token and what it asserts. {@code claims} holds every claim of the payload as Jackson
 * read it (strings, numbers, lists, maps), for the Workload API's ValidateJWTSVID answer.
 */
public record JwtSvid(SpiffeId id, List<String> audience, Instant expiry, String token, Map<String, Object> claims) {
    public JwtSvid {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(expiry, "expiry");
        Objects.requireNonNull(token, "token");
        audience = List.copyOf(audience);
        // Not Map.copyOf: a claim may be JSON null.
        claims = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(claims));
        if (audience.isEmpty()) {
            throw new IllegalArgumentException("a JWT-SVID needs at least one audience");
        }
    }

    @Override
    public String toString() {
        // Never the token: it is a bearer credential.
        return "JwtSvid[" + id + ", aud " + audience + ", exp " + expiry + "]";
    }
}
