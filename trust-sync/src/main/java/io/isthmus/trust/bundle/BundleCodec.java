package io.isthmus.trust.bundle;

import java.io.IOException;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Pem;

/**
 * Reads and writes SPIFFE bundles: a JWK Set with {@code x509-svid} entries (one CA certificate each in
 * {@code x5c}), {@code jwt-svid} entries (with {@code kid}), {@code spiffe_sequence} and
 * {@code spiffe_refresh_hint}. Reading is all or nothing: a malformed document throws
 * {@link BundleFormatException} and yields no bundle. Elements the spec says to ignore (unknown {@code use} or
 * {@code kty}, x509-svid without x5c) are skipped and reported as warnings. Thread-safe.
 */
public final class BundleCodec {
    /** Far above any real bundle (a few KiB per CA), far below what could hurt a gateway. */
    public static final int DEFAULT_MAX_BYTES = 512 * 1024;
    public static final String USE_X509 = "x509-svid";
    public static final String USE_JWT = "jwt-svid";

    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(SerializationFeature.INDENT_OUTPUT);

    /** RFC 7518 section 6: the private parameters of EC and RSA keys (and oct's secret). */
    private static final List<String> PRIVATE_PARAMS = List.of("d", "p", "q", "dp", "dq", "qi", "oth", "k");

    private final int maxBytes;

    public BundleCodec() {
        this(DEFAULT_MAX_BYTES);
    }

    public BundleCodec(int maxBytes) {
        this.maxBytes = maxBytes;
    }

    /** Documents larger than this are refused. */
    public int maxBytes() {
        return maxBytes;
    }

    public String toJson(TrustBundle bundle) {
        ObjectNode root = MAPPER.createObjectNode();
        ArrayNode keys = root.putArray("keys");
        for (X509Certificate ca : bundle.x509Authorities()) {
            ObjectNode key = keys.addObject();
            key.put("use", USE_X509);
            Jwk.params(ca.getPublicKey()).forEach(key::put);
            try {
                key.putArray("x5c").add(Base64.getEncoder().encodeToString(ca.getEncoded()));
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException("cannot encode certificate", e);
            }
        }
        for (JwtAuthority jwt : bundle.jwtAuthorities()) {
            ObjectNode key = keys.addObject();
            key.put("use", USE_JWT);
            key.put("kid", jwt.keyId());
            Jwk.params(jwt.publicKey()).forEach(key::put);
        }
        root.put("spiffe_sequence", bundle.sequence());
        bundle.refreshHint().ifPresent(h -> root.put("spiffe_refresh_hint", h.toSeconds()));
        try {
            return MAPPER.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Parses the bundle of {@code td} from {@code json}.
     *
     * @param source names the document in errors, e.g. the peer's endpoint URL or a file path
     * @throws BundleFormatException naming the first rule broken
     */
    public ParsedBundle parse(TrustDomain td, byte[] json, String source) {
        if (json.length > maxBytes) {
            throw new BundleFormatException(BundleFormatError.TOO_LARGE, source, json.length + " bytes, limit " + maxBytes);
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new BundleFormatException(BundleFormatError.NOT_JSON, source, e.getOriginalMessage());
        } catch (IOException e) {
            throw new BundleFormatException(BundleFormatError.NOT_JSON, source, e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new BundleFormatException(BundleFormatError.NOT_AN_OBJECT, source, null);
        }
        JsonNode keys = root.get("keys");
        if (keys == null || !keys.isArray()) {
            throw new BundleFormatException(BundleFormatError.KEYS_MISSING, source, null);
        }
        long sequence = sequence(root.get("spiffe_sequence"), source);
        Optional<Duration> refreshHint = refreshHint(root.get("spiffe_refresh_hint"), source);
        List<String> warnings = new ArrayList<>();
        if (root.get("spiffe_sequence") == null) {
            warnings.add("no spiffe_sequence; treated as 0");
        }
        List<X509Certificate> cas = new ArrayList<>();
        List<JwtAuthority> jwts = new ArrayList<>();
        int index = 0;
        for (Iterator<JsonNode> it = keys.elements(); it.hasNext(); index++) {
            JsonNode key = it.next();
            String where = "keys[" + index + "]";
            if (!key.isObject()) {
                throw new BundleFormatException(BundleFormatError.KEY_NOT_OBJECT, source, where);
            }
            JsonNode use = key.get("use");
            if (use == null || !use.isTextual()) {
                throw new BundleFormatException(BundleFormatError.USE_MISSING, source, where);
            }
            JsonNode kty = key.get("kty");
            if (kty == null || !kty.isTextual()) {
                throw new BundleFormatException(BundleFormatError.KTY_MISSING, source, where);
            }
            if (!Jwk.supportedKty(kty.asText())) {
                warnings.add(where + ": unknown kty '" + kty.asText() + "' ignored");
                continue;
            }
            switch (use.asText()) {
                case USE_X509 -> readX509(key, where, source, warnings).ifPresent(cas::add);
                case USE_JWT -> {
                    JwtAuthority jwt = readJwt(key, kty.asText(), where, source);
                    if (jwts.stream().anyMatch(j -> j.keyId().equals(jwt.keyId()))) {
                        // A validator picks the key by kid: two keys under one kid would let either verify.
                        throw new BundleFormatException(BundleFormatError.DUPLICATE_KEY_ID, source,
                                where + ": kid '" + jwt.keyId() + "' is already used by another jwt-svid key");
                    }
                    jwts.add(jwt);
                }
                default -> warnings.add(where + ": unknown use '" + use.asText() + "' ignored (values are case-sensitive: "
                        + USE_X509 + ", " + USE_JWT + ")");
            }
        }
        return new ParsedBundle(new TrustBundle(td, cas, jwts, sequence, refreshHint), warnings);
    }

    private static Optional<X509Certificate> readX509(JsonNode key, String where, String source, List<String> warnings) {
        JsonNode x5c = key.get("x5c");
        if (x5c == null || !x5c.isArray() || x5c.isEmpty()) {
            warnings.add(where + ": x509-svid entry without x5c ignored");
            return Optional.empty();
        }
        if (x5c.size() > 1) {
            warnings.add(where + ": x5c has " + x5c.size() + " certificates; only the first is used");
        }
        if (key.has("kid")) {
            warnings.add(where + ": x509-svid entries must not set kid; ignored");
        }
        JsonNode first = x5c.get(0);
        if (!first.isTextual()) {
            throw new BundleFormatException(BundleFormatError.BAD_CERTIFICATE, source, where + ".x5c[0] is not a string");
        }
        X509Certificate cert;
        try {
            cert = Pem.toX509(Base64.getMimeDecoder().decode(first.asText()), where);
        } catch (IllegalArgumentException e) {
            throw new BundleFormatException(BundleFormatError.BAD_CERTIFICATE, source, where + ": " + e.getMessage());
        }
        if (!Jwk.describes(key.get("kty").asText(), p -> text(key, p), cert.getPublicKey())) {
            throw new BundleFormatException(BundleFormatError.KEY_MISMATCH, source, where);
        }
        return Optional.of(cert);
    }

    private static JwtAuthority readJwt(JsonNode key, String kty, String where, String source) {
        String kid = text(key, "kid");
        if (kid == null || kid.isEmpty()) {
            throw new BundleFormatException(BundleFormatError.BAD_JWT_KEY, source, where + ": kid is required");
        }
        for (String secret : PRIVATE_PARAMS) {
            if (key.has(secret)) {
                // A bundle is public: a private parameter means the publisher leaked its signing key.
                throw new BundleFormatException(BundleFormatError.PRIVATE_KEY_PUBLISHED, source, where + " (kid '" + kid
                        + "') has private parameter '" + secret + "'; publish only the public key and replace this one");
            }
        }
        try {
            PublicKey publicKey = Jwk.toPublicKey(kty, p -> text(key, p));
            return new JwtAuthority(kid, publicKey);
        } catch (IllegalArgumentException e) {
            throw new BundleFormatException(BundleFormatError.BAD_JWT_KEY, source, where + ": " + e.getMessage());
        }
    }

    private static String text(JsonNode node, String name) {
        JsonNode v = node.get(name);
        return v != null && v.isTextual() ? v.asText() : null;
    }

    private static long sequence(JsonNode node, String source) {
        if (node == null) {
            return 0;
        }
        if (!node.isIntegralNumber() || !node.canConvertToLong() || node.asLong() < 0) {
            throw new BundleFormatException(BundleFormatError.BAD_SEQUENCE, source, node.toString());
        }
        return node.asLong();
    }

    private static Optional<Duration> refreshHint(JsonNode node, String source) {
        if (node == null) {
            return Optional.empty();
        }
        if (!node.isIntegralNumber() || !node.canConvertToLong() || node.asLong() <= 0) {
            throw new BundleFormatException(BundleFormatError.BAD_REFRESH_HINT, source, node.toString());
        }
        return Optional.of(Duration.ofSeconds(node.asLong()));
    }
}
