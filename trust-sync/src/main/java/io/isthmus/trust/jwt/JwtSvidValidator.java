package io.isthmus.trust.jwt;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;

import io.isthmus.trust.bundle.BundleSource;
import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Validates a JWT-SVID as the SPIFFE JWT-SVID spec (section 3) and SPIRE do: the header's {@code alg} is one of
 * the spec's asymmetric algorithms, {@code kid} is required and must name a {@code jwt-svid} key in the bundle of
 * the <em>subject's</em> trust domain (a key of another domain, even a federated one, proves nothing about this
 * subject), the signature verifies, {@code sub} is a SPIFFE ID, {@code aud} contains the expected audience and
 * {@code exp} lies ahead. No leeway on {@code exp}, as java-spiffe: tokens live minutes and are refetched well
 * before expiry. Pure: no I/O, no clock, no state; thread-safe.
 */
public final class JwtSvidValidator {
    /** Far above any real JWT-SVID (a few hundred bytes); bounds the work an attacker can ask for. */
    public static final int MAX_TOKEN_CHARS = 16 * 1024;

    private JwtSvidValidator() {
    }

    /** The algorithms of the JWT-SVID spec (section 3), with how the JDK verifies them. */
    private enum Alg {
        RS256("SHA256withRSA", "RSA", 0), RS384("SHA384withRSA", "RSA", 0), RS512("SHA512withRSA", "RSA", 0),
        ES256("SHA256withECDSAinP1363Format", "EC", 256), ES384("SHA384withECDSAinP1363Format", "EC", 384),
        ES512("SHA512withECDSAinP1363Format", "EC", 521),
        PS256("RSASSA-PSS", "RSA", 256), PS384("RSASSA-PSS", "RSA", 384), PS512("RSASSA-PSS", "RSA", 512);

        final String jca;
        final String keyType;
        final int size;

        Alg(String jca, String keyType, int size) {
            this.jca = jca;
            this.keyType = keyType;
            this.size = size;
        }

        static Optional<Alg> of(String name) {
            for (Alg a : values()) {
                if (a.name().equals(name)) {
                    return Optional.of(a);
                }
            }
            return Optional.empty();
        }

        boolean fits(PublicKey key) {
            if (keyType.equals("EC")) {
                return key instanceof ECPublicKey ec && ec.getParams().getCurve().getField().getFieldSize() == size;
            }
            return key instanceof RSAPublicKey;
        }

        Signature verifier(PublicKey key) throws GeneralSecurityException {
            Signature s = Signature.getInstance(jca);
            if (name().startsWith("PS")) {
                String hash = "SHA-" + size;
                s.setParameter(new PSSParameterSpec(hash, "MGF1", new MGF1ParameterSpec(hash), size / 8, 1));
            }
            s.initVerify(key);
            return s;
        }
    }

    /**
     * @param audience the audience this validator stands for; the token's {@code aud} must contain it
     * @param bundles where the subject's trust domain's JWT authorities are found
     */
    public static JwtVerdict validate(String token, String audience, BundleSource bundles, Instant now) {
        if (audience == null || audience.isBlank()) {
            throw new IllegalArgumentException("the expected audience must not be empty");
        }
        if (token == null || token.isEmpty()) {
            return invalid(JwtRejection.MALFORMED, "the token is empty; expected a JWS compact serialization "
                    + "(header.payload.signature)");
        }
        if (token.length() > MAX_TOKEN_CHARS) {
            return invalid(JwtRejection.MALFORMED, "the token is " + token.length() + " characters, more than the "
                    + MAX_TOKEN_CHARS + " allowed");
        }
        String[] parts = token.split("\\.", -1);
        if (parts.length != 3) {
            return invalid(JwtRejection.MALFORMED, "the token has " + parts.length + " dot-separated parts; a JWS "
                    + "compact serialization has 3 (JWE and unsecured JWTs are not JWT-SVIDs)");
        }
        JsonNode header;
        JsonNode claims;
        byte[] signature;
        try {
            header = object(parts[0], "header");
            claims = object(parts[1], "payload");
            signature = Jose.unb64(parts[2]);
        } catch (IllegalArgumentException e) {
            return invalid(JwtRejection.MALFORMED, e.getMessage());
        }

        String algName = text(header, "alg");
        Optional<Alg> alg = Optional.ofNullable(algName).flatMap(Alg::of);
        if (alg.isEmpty()) {
            return invalid(JwtRejection.UNSUPPORTED_ALGORITHM, "header alg " + quote(algName) + " is not allowed for a "
                    + "JWT-SVID; expected one of RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512");
        }
        String kid = text(header, "kid");
        if (kid == null || kid.isEmpty()) {
            return invalid(JwtRejection.MISSING_KEY_ID, "the header has no kid; a JWT-SVID names its signing key so "
                    + "that it can be found in the trust domain's bundle");
        }
        if (header.has("typ") && !("JWT".equals(text(header, "typ")) || "JOSE".equals(text(header, "typ")))) {
            return invalid(JwtRejection.BAD_TYPE, "header typ " + quote(String.valueOf(header.get("typ")))
                    + " is not allowed; expected JWT or JOSE, or no typ");
        }
        if (header.has("crit")) {
            return invalid(JwtRejection.CRITICAL_HEADER, "header crit " + header.get("crit") + " names extensions this "
                    + "validator does not implement (RFC 7515 section 4.1.11 requires refusing the token)");
        }

        String sub = text(claims, "sub");
        Optional<SpiffeId> id = sub == null ? Optional.empty() : SpiffeId.tryParse(sub);
        if (id.isEmpty() || id.get().path().isEmpty()) {
            return invalid(JwtRejection.BAD_SUBJECT, "sub " + quote(sub) + " is not the SPIFFE ID of a workload; "
                    + "expected spiffe://<trust-domain>/<path>");
        }
        List<String> aud = audience(claims.get("aud"));
        if (aud.isEmpty()) {
            return invalid(JwtRejection.MISSING_AUDIENCE, "the token has no aud; a JWT-SVID must name its audience");
        }
        if (!aud.contains(audience)) {
            return invalid(JwtRejection.AUDIENCE_MISMATCH, "aud " + aud + " does not contain " + quote(audience)
                    + "; the token was issued for another audience");
        }
        JsonNode exp = claims.get("exp");
        if (exp == null || !exp.isNumber()) {
            return invalid(JwtRejection.MISSING_EXPIRY, "the token has no numeric exp; a JWT-SVID must expire");
        }
        Instant expiry = Instant.ofEpochSecond(exp.asLong());
        if (!now.isBefore(expiry)) {
            return invalid(JwtRejection.EXPIRED, "the token expired at " + expiry + " (now " + now + "); fetch a new one");
        }
        JsonNode nbf = claims.get("nbf");
        if (nbf != null && nbf.isNumber() && now.isBefore(Instant.ofEpochSecond(nbf.asLong()))) {
            return invalid(JwtRejection.NOT_YET_VALID, "the token is not valid before "
                    + Instant.ofEpochSecond(nbf.asLong()) + " (now " + now + ")");
        }

        Optional<TrustBundle> bundle = bundles.bundleFor(id.get().trustDomain());
        if (bundle.isEmpty()) {
            return invalid(JwtRejection.NO_BUNDLE_FOR_TRUST_DOMAIN, "no bundle is held for " + id.get().trustDomain()
                    + ", the trust domain of sub " + sub + "; is it federated with this one?");
        }
        Optional<JwtAuthority> key = bundle.get().jwtAuthorities().stream().filter(a -> a.keyId().equals(kid)).findFirst();
        if (key.isEmpty()) {
            return invalid(JwtRejection.UNKNOWN_KEY_ID, "kid " + quote(kid) + " is not a JWT authority of "
                    + id.get().trustDomain() + " (bundle sequence " + bundle.get().sequence() + ", kids "
                    + bundle.get().jwtAuthorities().stream().map(JwtAuthority::keyId).toList()
                    + "); the key may have been retired, or belong to another trust domain");
        }
        if (!alg.get().fits(key.get().publicKey())) {
            return invalid(JwtRejection.KEY_ALGORITHM_MISMATCH, "kid " + quote(kid) + " is a "
                    + key.get().publicKey().getAlgorithm() + " key, which cannot verify alg " + algName);
        }
        try {
            Signature verifier = alg.get().verifier(key.get().publicKey());
            verifier.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
            if (!verifier.verify(signature)) {
                return invalid(JwtRejection.BAD_SIGNATURE, "the signature does not verify with kid " + quote(kid) + " of "
                        + id.get().trustDomain());
            }
        } catch (GeneralSecurityException e) {
            return invalid(JwtRejection.BAD_SIGNATURE, "the signature does not verify with kid " + quote(kid) + ": "
                    + e.getMessage());
        }
        Map<String, Object> all = Jose.JSON.convertValue(claims, new TypeReference<Map<String, Object>>() {
        });
        return new JwtVerdict.Valid(new JwtSvid(id.get(), aud, expiry, token, all), kid);
    }

    private static JsonNode object(String part, String what) {
        byte[] bytes;
        try {
            bytes = Jose.unb64(part);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the " + what + " is not base64url: " + e.getMessage());
        }
        JsonNode node;
        try {
            node = Jose.JSON.readTree(bytes);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("the " + what + " is not JSON (or repeats a member): "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("the " + what + " is not a JSON object");
        }
        return node;
    }

    /** RFC 7519 section 4.1.3: a string or an array of strings. */
    private static List<String> audience(JsonNode aud) {
        List<String> out = new ArrayList<>();
        if (aud == null) {
            return out;
        }
        if (aud.isTextual()) {
            out.add(aud.asText());
        } else if (aud.isArray()) {
            for (Iterator<JsonNode> it = aud.elements(); it.hasNext();) {
                JsonNode a = it.next();
                if (a.isTextual() && !a.asText().isEmpty()) {
                    out.add(a.asText());
                }
            }
        }
        return out;
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v != null && v.isTextual() ? v.asText() : null;
    }

    private static String quote(String s) {
        return s == null ? "(none)" : "'" + (s.length() > 200 ? s.substring(0, 200) + "..." : s) + "'";
    }

    private static JwtVerdict invalid(JwtRejection reason, String message) {
        return new JwtVerdict.Invalid(reason, message);
    }
}
