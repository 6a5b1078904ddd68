package io.isthmus.gateway.jwt;

import java.nio.charset.StandardCharsets;
import java.security.interfaces.ECPublicKey;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;

import io.isthmus.gateway.jwt.rotation.ReplicaRotation;
import io.isthmus.trust.bundle.BundleFormatError;
import io.isthmus.trust.bundle.BundleFormatException;
import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.bundle.ParsedBundle;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Which JWT keys this cluster's bundle publishes, given this replica's own ring and the entries the other replicas
 * wrote to the replicated cache. Pure (no I/O, no clock: {@code now} is an argument); thread-safe.
 *
 * <p>Every replica runs this on the same cache content, so the keys come out sorted by kid: replicas serve the
 * same key set whichever one a peer asks. An entry from the cache is judged as a bundle is (the bundle codec's
 * rules: kid required and unique, no private parameter, a valid point) and must also be EC P-256, the only key type
 * our signer makes. A kid claimed with two different keys is ambiguous (a validator picks the key by kid), so every
 * foreign claim of it is refused; this replica's own key always stays, since it signs with it.
 */
public final class ReplicaKeyMerge {
    private ReplicaKeyMerge() {
    }

    public enum Reason {
        MALFORMED("is not a readable replica JWT key entry"),
        PRIVATE_KEY_PUBLISHED("carries a private key parameter"),
        NOT_P256("carries a key that is not EC P-256"),
        REPLICA_MISMATCH("is stored under another replica's name"),
        FOREIGN_TRUST_DOMAIN("belongs to another trust domain"),
        KID_CONFLICT("claims a kid another replica publishes with a different key");

        private final String rule;

        Reason(String rule) {
            this.rule = rule;
        }

        public String rule() {
            return rule;
        }
    }

    /** An entry (or one key of it) left out of the bundle, and why; {@code detail} quotes the input. */
    public record Refused(String replica, Reason reason, String detail) {
        @Override
        public String toString() {
            return "replica " + replica + "'s JWT key entry " + reason.rule() + ": " + detail;
        }
    }

    /**
     * @param keys what the bundle publishes, sorted by kid
     * @param expired replicas whose entries have lapsed (normal after a replica stopped; not a refusal)
     * @param rotations where each other replica with a live, accepted entry stands in the cluster's rotation (empty
     *     for a replica of a version that takes no cluster-wide steps)
     */
    public record Merged(List<JwtAuthority> keys, List<Refused> refused, List<String> expired,
            Map<String, Optional<ReplicaRotation>> rotations) {
        public Merged {
            keys = List.copyOf(keys);
            refused = List.copyOf(refused);
            expired = List.copyOf(expired);
            rotations = Map.copyOf(rotations);
        }
    }

    /**
     * @param self this replica's name: its own cache entry is skipped in favour of {@code own}, the ring itself
     * @param own the public keys this replica's ring publishes
     * @param entries the cache: replica name to its entry's JSON
     */
    public static Merged merge(TrustDomain td, String self, List<JwtAuthority> own, Map<String, String> entries,
            Instant now) {
        Objects.requireNonNull(own, "own");
        List<Refused> refused = new ArrayList<>();
        List<String> expired = new ArrayList<>();
        // kid -> (replica -> key), over live foreign entries, in replica-name order for a stable result.
        Map<String, Map<String, JwtAuthority>> claims = new TreeMap<>();
        Map<String, Optional<ReplicaRotation>> rotations = new TreeMap<>();
        for (Map.Entry<String, String> e : new TreeMap<>(entries).entrySet()) {
            String replica = e.getKey();
            if (replica.equals(self)) {
                continue;
            }
            Entry read = read(td, replica, e.getValue(), refused);
            if (read == null) {
                continue;
            }
            if (!now.isBefore(read.expires)) {
                expired.add(replica);
                continue;
            }
            rotations.put(replica, read.rotation);
            for (JwtAuthority k : read.keys) {
                claims.computeIfAbsent(k.keyId(), x -> new LinkedHashMap<>()).put(replica, k);
            }
        }
        Map<String, JwtAuthority> out = new TreeMap<>();
        own.forEach(k -> out.put(k.keyId(), k));
        for (Map.Entry<String, Map<String, JwtAuthority>> c : claims.entrySet()) {
            String kid = c.getKey();
            JwtAuthority mine = out.get(kid);
            List<JwtAuthority> distinct = new ArrayList<>();
            if (mine != null) {
                distinct.add(mine);
            }
            c.getValue().values().forEach(k -> {
                if (distinct.stream().noneMatch(d -> sameKey(d, k))) {
                    distinct.add(k);
                }
            });
            if (distinct.size() == 1) {
                // The same key from several replicas (a restarted replica's stale entry next to its new one) is one
                // key.
                out.putIfAbsent(kid, distinct.get(0));
                continue;
            }
            for (Map.Entry<String, JwtAuthority> claim : c.getValue().entrySet()) {
                if (mine == null || !sameKey(mine, claim.getValue())) {
                    refused.add(new Refused(claim.getKey(), Reason.KID_CONFLICT, "kid '" + kid + "' is published by "
                            + c.getValue().keySet() + (mine != null ? " and this replica" : "")
                            + " with different keys; none of the foreign claims is published"));
                }
            }
        }
        List<JwtAuthority> keys = new ArrayList<>(out.values());
        keys.sort(Comparator.comparing(JwtAuthority::keyId));
        return new Merged(keys, refused, expired, rotations);
    }

    private record Entry(List<JwtAuthority> keys, Instant expires, Optional<ReplicaRotation> rotation) {
    }

    private static Entry read(TrustDomain td, String replica, String json, List<Refused> refused) {
        JsonNode header;
        try {
            header = ReplicaKeys.readTree(json);
        } catch (JsonProcessingException e) {
            refused.add(new Refused(replica, Reason.MALFORMED, "not JSON: " + e.getOriginalMessage()));
            return null;
        }
        if (header == null || !header.isObject() || !header.path("replica").isTextual()
                || !header.path("expires").isTextual()) {
            refused.add(new Refused(replica, Reason.MALFORMED, "expected an object with 'replica', 'expires' and "
                    + "'keys', got " + abbreviate(json)));
            return null;
        }
        if (!header.get("replica").asText().equals(replica)) {
            refused.add(new Refused(replica, Reason.REPLICA_MISMATCH, "names replica '" + header.get("replica").asText()
                    + "'"));
            return null;
        }
        String domain = header.path("trust_domain").asText("");
        if (!domain.equals(td.name())) {
            refused.add(new Refused(replica, Reason.FOREIGN_TRUST_DOMAIN, "names trust domain '" + domain
                    + "', expected '" + td.name() + "': a gateway of another trust domain is on this cluster's replica "
                    + "channel; give each cluster its own isthmus.enrolment.cluster settings"));
            return null;
        }
        Instant expires;
        try {
            expires = Instant.parse(header.get("expires").asText());
        } catch (DateTimeParseException e) {
            refused.add(new Refused(replica, Reason.MALFORMED, "'expires' is '" + header.get("expires").asText()
                    + "', expected an ISO-8601 instant"));
            return null;
        }
        ParsedBundle parsed;
        try {
            parsed = ReplicaKeys.codec().parse(td, json.getBytes(StandardCharsets.UTF_8), "replica " + replica);
        } catch (BundleFormatException e) {
            refused.add(new Refused(replica, e.error() == BundleFormatError.PRIVATE_KEY_PUBLISHED
                    ? Reason.PRIVATE_KEY_PUBLISHED : Reason.MALFORMED, e.getMessage()));
            return null;
        }
        // Only per-key warnings matter here (an unknown kty or use): an entry carries exactly our own keys.
        List<String> keyWarnings = parsed.warnings().stream().filter(w -> w.startsWith("keys[")).toList();
        if (!parsed.bundle().x509Authorities().isEmpty() || !keyWarnings.isEmpty()) {
            refused.add(new Refused(replica, Reason.MALFORMED, "expected only jwt-svid keys, got "
                    + parsed.bundle().x509Authorities().size() + " x509-svid keys and " + keyWarnings));
            return null;
        }
        for (JwtAuthority k : parsed.bundle().jwtAuthorities()) {
            if (!(k.publicKey() instanceof ECPublicKey)) {
                refused.add(new Refused(replica, Reason.NOT_P256, "kid '" + k.keyId() + "' is "
                        + k.publicKey().getAlgorithm() + ", expected EC P-256 (ES256)"));
                return null;
            }
        }
        Optional<ReplicaRotation> rotation = Optional.empty();
        if (header.has("rotation")) {
            try {
                rotation = Optional.of(ReplicaRotation.parse(header.get("rotation")));
            } catch (IllegalArgumentException e) {
                refused.add(new Refused(replica, Reason.MALFORMED, e.getMessage()));
                return null;
            }
        }
        return new Entry(parsed.bundle().jwtAuthorities(), expires, rotation);
    }

    private static boolean sameKey(JwtAuthority a, JwtAuthority b) {
        return java.util.Arrays.equals(a.publicKey().getEncoded(), b.publicKey().getEncoded());
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }
}
