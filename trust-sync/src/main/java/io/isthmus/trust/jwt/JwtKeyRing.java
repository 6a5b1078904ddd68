package io.isthmus.trust.jwt;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import io.isthmus.trust.bundle.JwtAuthority;

/**
 * A trust domain's JWT signing keys through a rotation, as a value: the {@code active} key signs; a
 * {@code next} key is published ahead of signing (peers learn it on their next bundle refresh, before the first
 * token it signs reaches them); a {@code retiring} key no longer signs but stays published until the last token it
 * signed has expired. Every change returns a new ring; refusals are {@link JwtRotationException}s that say what to
 * do. Pure; thread-safe.
 */
public record JwtKeyRing(JwtSigningKey active, Optional<JwtSigningKey> next, List<Retiring> retiring) {

    /** A key that signed until {@code activeUntil} and is published while its tokens may live, up to {@code until}. */
    public record Retiring(JwtAuthority authority, Instant until) {
        public Retiring {
            Objects.requireNonNull(authority, "authority");
            Objects.requireNonNull(until, "until");
        }
    }

    public JwtKeyRing {
        Objects.requireNonNull(active, "active");
        Objects.requireNonNull(next, "next");
        retiring = List.copyOf(retiring);
    }

    public static JwtKeyRing of(JwtSigningKey active) {
        return new JwtKeyRing(active, Optional.empty(), List.of());
    }

    /** Publishes {@code key} as the next signer; it signs nothing until {@link #activate}. */
    public JwtKeyRing prepare(JwtSigningKey key) {
        if (next.isPresent()) {
            throw new JwtRotationException("jwt key " + next.get().keyId() + " is already prepared; activate it first "
                    + "(POST /v1/admin/jwt/activate)");
        }
        return new JwtKeyRing(active, Optional.of(key), retiring);
    }

    /**
     * The prepared key signs from now on. The old one stays published until {@code now + longestTtl}, when the last
     * token it signed expires.
     */
    public JwtKeyRing activate(Instant now, Duration longestTtl) {
        JwtSigningKey key = next.orElseThrow(() -> new JwtRotationException("no jwt key is prepared; prepare one "
                + "first (POST /v1/admin/jwt/prepare) and let peers refresh the bundle before activating it"));
        List<Retiring> r = new ArrayList<>(retiring);
        r.add(new Retiring(active.authority(), now.plus(longestTtl)));
        return new JwtKeyRing(key, Optional.empty(), r);
    }

    /**
     * Removes a retiring key from the bundle. Refused while a token it signed may still be valid: removing it then
     * would fail those tokens everywhere in the federation.
     */
    public JwtKeyRing retire(String keyId, Instant now) {
        Retiring r = retiring.stream().filter(x -> x.authority().keyId().equals(keyId)).findFirst()
                .orElseThrow(() -> new JwtRotationException("jwt key " + keyId + " is not retiring (retiring: "
                        + retiring.stream().map(x -> x.authority().keyId()).toList() + "; active "
                        + active.keyId() + " cannot be retired, activate another key first)"));
        if (now.isBefore(r.until())) {
            throw new JwtRotationException("jwt key " + keyId + " may still have signed live tokens until "
                    + r.until() + "; retire it after that");
        }
        List<Retiring> rest = new ArrayList<>(retiring);
        rest.remove(r);
        return new JwtKeyRing(active, next, rest);
    }

    /** The ring without retiring keys whose tokens have all expired by {@code now}. */
    public JwtKeyRing pruned(Instant now) {
        List<Retiring> rest = retiring.stream().filter(r -> now.isBefore(r.until())).toList();
        return rest.size() == retiring.size() ? this : new JwtKeyRing(active, next, rest);
    }

    /** What the bundle publishes: active, next and retiring keys. */
    public List<JwtAuthority> published() {
        List<JwtAuthority> out = new ArrayList<>();
        out.add(active.authority());
        next.ifPresent(k -> out.add(k.authority()));
        retiring.forEach(r -> out.add(r.authority()));
        return out;
    }
}
