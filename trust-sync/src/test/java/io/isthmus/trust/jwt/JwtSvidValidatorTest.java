package io.isthmus.trust.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPrivateKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jwt.SignedJWT;

import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.spiffe.bundle.jwtbundle.JwtBundle;
import io.spiffe.bundle.jwtbundle.JwtBundleSet;
import io.spiffe.svid.jwtsvid.JwtSvid;

/**
 * The JWT-SVID validator, row by row, against tokens crafted with an independent JOSE library (nimbus-jose-jwt);
 * on every row java-spiffe's {@code JwtSvid.parseAndValidate}, over the same bundles as java-spiffe parses them
 * from our bundle JSON, must agree (accept what we accept, refuse what we refuse).
 */
class JwtSvidValidatorTest {
    private static final TrustDomain A = new TrustDomain("a.test");
    private static final TrustDomain B = new TrustDomain("b.test");
    private static final SpiffeId WORKLOAD = SpiffeId.parse("spiffe://a.test/ns/shop/sa/web");
    // The wall clock: java-spiffe, which must agree on every row, checks expiry against it.
    private static final Instant NOW = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    private static final JwtSigningKey A_KEY = JwtSigningKey.generate();
    private static final JwtSigningKey B_KEY = JwtSigningKey.generate();
    private static final KeyPair A_RSA = rsa();
    private static final BundleSet BUNDLES = BundleSet.of(List.of(
            new TrustBundle(A, List.of(), List.of(A_KEY.authority(), new JwtAuthority("a-rsa", A_RSA.getPublic())), 3,
                    Optional.empty()),
            new TrustBundle(B, List.of(), List.of(B_KEY.authority()), 9, Optional.empty())));

    private static KeyPair rsa() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            return g.generateKeyPair();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static long at(Duration d) {
        return NOW.plus(d).getEpochSecond();
    }

    private static final String GOOD_CLAIMS = "{\"sub\":\"spiffe://a.test/ns/shop/sa/web\",\"aud\":[\"orders\"],\"exp\":"
            + at(Duration.ofMinutes(5)) + "}";

    private static String es256(JwtSigningKey key, String kid, JOSEObjectType typ, String claims) {
        JWSHeader.Builder h = new JWSHeader.Builder(JWSAlgorithm.ES256);
        if (kid != null) {
            h.keyID(kid);
        }
        if (typ != null) {
            h.type(typ);
        }
        return sign(h.build(), claims, ecdsa(key));
    }

    private static ECDSASigner ecdsa(JwtSigningKey key) {
        try {
            return new ECDSASigner((ECPrivateKey) key.keys().getPrivate());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String sign(JWSHeader header, String claims, JWSSigner signer) {
        try {
            JWSObject jws = new JWSObject(header, new Payload(claims));
            jws.sign(signer);
            return jws.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String b64(String s) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String good() {
        return es256(A_KEY, A_KEY.keyId(), JOSEObjectType.JWT, GOOD_CLAIMS);
    }

    static Stream<Arguments> rows() throws Exception {
        String good = good();
        String[] parts = good.split("\\.");
        String otherSubject = b64(GOOD_CLAIMS.replace("/sa/web", "/sa/admin"));
        return Stream.of(
                Arguments.of("ES256 by the subject's domain key", good, null),
                Arguments.of("typ JOSE and a single string aud",
                        es256(A_KEY, A_KEY.keyId(), new JOSEObjectType("JOSE"), GOOD_CLAIMS.replace("[\"orders\"]",
                                "\"orders\"")), null),
                Arguments.of("no typ, two audiences",
                        es256(A_KEY, A_KEY.keyId(), null, GOOD_CLAIMS.replace("[\"orders\"]", "[\"x\",\"orders\"]")), null),
                Arguments.of("RS256 with the domain's RSA key", sign(new JWSHeader.Builder(JWSAlgorithm.RS256)
                        .keyID("a-rsa").build(), GOOD_CLAIMS, new RSASSASigner((RSAPrivateKey) A_RSA.getPrivate())), null),
                Arguments.of("PS256 with the domain's RSA key", sign(new JWSHeader.Builder(JWSAlgorithm.PS256)
                        .keyID("a-rsa").build(), GOOD_CLAIMS, new RSASSASigner((RSAPrivateKey) A_RSA.getPrivate())), null),
                Arguments.of("wrong audience", es256(A_KEY, A_KEY.keyId(), null,
                        GOOD_CLAIMS.replace("orders", "billing")), JwtRejection.AUDIENCE_MISMATCH),
                Arguments.of("expired", es256(A_KEY, A_KEY.keyId(), null, GOOD_CLAIMS.replace(
                        String.valueOf(at(Duration.ofMinutes(5))), String.valueOf(at(Duration.ofSeconds(-1))))),
                        JwtRejection.EXPIRED),
                Arguments.of("expires exactly now", es256(A_KEY, A_KEY.keyId(), null, GOOD_CLAIMS.replace(
                        String.valueOf(at(Duration.ofMinutes(5))), String.valueOf(at(Duration.ZERO)))),
                        JwtRejection.EXPIRED),
                Arguments.of("alg none (unsecured JWT)", b64("{\"alg\":\"none\",\"kid\":\"" + A_KEY.keyId() + "\"}")
                        + "." + b64(GOOD_CLAIMS) + ".", JwtRejection.UNSUPPORTED_ALGORITHM),
                Arguments.of("alg none with the good signature kept", b64("{\"alg\":\"none\",\"kid\":\"" + A_KEY.keyId()
                        + "\"}") + "." + parts[1] + "." + parts[2], JwtRejection.UNSUPPORTED_ALGORITHM),
                Arguments.of("HS256 keyed with the public key bytes", sign(new JWSHeader.Builder(JWSAlgorithm.HS256)
                        .keyID(A_KEY.keyId()).build(), GOOD_CLAIMS, new MACSigner(pad(A_KEY.keys().getPublic()
                                .getEncoded()))), JwtRejection.UNSUPPORTED_ALGORITHM),
                Arguments.of("a cluster-B key signing a cluster-A subject", es256(B_KEY, B_KEY.keyId(), null, GOOD_CLAIMS),
                        JwtRejection.UNKNOWN_KEY_ID),
                Arguments.of("unknown kid", es256(A_KEY, "no-such-key", null, GOOD_CLAIMS), JwtRejection.UNKNOWN_KEY_ID),
                Arguments.of("no kid", es256(A_KEY, null, null, GOOD_CLAIMS), JwtRejection.MISSING_KEY_ID),
                Arguments.of("another key under the domain's kid", es256(B_KEY, A_KEY.keyId(), null, GOOD_CLAIMS),
                        JwtRejection.BAD_SIGNATURE),
                Arguments.of("payload swapped after signing", parts[0] + "." + otherSubject + "." + parts[2],
                        JwtRejection.BAD_SIGNATURE),
                Arguments.of("signature truncated", parts[0] + "." + parts[1] + "." + parts[2].substring(0, 40),
                        JwtRejection.BAD_SIGNATURE),
                Arguments.of("ES256 header over the RSA kid", es256(A_KEY, "a-rsa", null, GOOD_CLAIMS),
                        JwtRejection.KEY_ALGORITHM_MISMATCH),
                Arguments.of("not a JWS", "hello", JwtRejection.MALFORMED),
                Arguments.of("two parts", parts[0] + "." + parts[1], JwtRejection.MALFORMED),
                Arguments.of("five parts (JWE)", "a.b.c.d.e", JwtRejection.MALFORMED),
                Arguments.of("header not base64url", "%%." + parts[1] + "." + parts[2], JwtRejection.MALFORMED),
                Arguments.of("payload not JSON", parts[0] + "." + b64("sub=me") + "." + parts[2], JwtRejection.MALFORMED),
                Arguments.of("duplicate sub", es256(A_KEY, A_KEY.keyId(), null, GOOD_CLAIMS.replace("{",
                        "{\"sub\":\"spiffe://a.test/ns/x/sa/root\",")), JwtRejection.MALFORMED),
                Arguments.of("sub not a SPIFFE ID", es256(A_KEY, A_KEY.keyId(), null, GOOD_CLAIMS.replace(
                        "spiffe://a.test/ns/shop/sa/web", "https://a.test/web")), JwtRejection.BAD_SUBJECT),
                Arguments.of("sub is a trust domain", es256(A_KEY, A_KEY.keyId(), null, GOOD_CLAIMS.replace(
                        "spiffe://a.test/ns/shop/sa/web", "spiffe://a.test")), JwtRejection.BAD_SUBJECT),
                Arguments.of("no sub", es256(A_KEY, A_KEY.keyId(), null, GOOD_CLAIMS.replace(
                        "\"sub\":\"spiffe://a.test/ns/shop/sa/web\",", "")), JwtRejection.BAD_SUBJECT),
                Arguments.of("no aud", es256(A_KEY, A_KEY.keyId(), null, GOOD_CLAIMS.replace("\"aud\":[\"orders\"],", "")),
                        JwtRejection.MISSING_AUDIENCE),
                Arguments.of("no exp", es256(A_KEY, A_KEY.keyId(), null, "{\"sub\":\"spiffe://a.test/ns/shop/sa/web\","
                        + "\"aud\":[\"orders\"]}"), JwtRejection.MISSING_EXPIRY),
                Arguments.of("typ at+jwt", es256(A_KEY, A_KEY.keyId(), new JOSEObjectType("at+jwt"), GOOD_CLAIMS),
                        JwtRejection.BAD_TYPE),
                Arguments.of("subject of an unknown domain", es256(A_KEY, A_KEY.keyId(), null, GOOD_CLAIMS.replace(
                        "a.test", "c.test")), JwtRejection.NO_BUNDLE_FOR_TRUST_DOMAIN));
    }

    /**
     * Deliberate deviations: java-spiffe accepts the trust domain's own ID ({@code spiffe://a.test}) as a subject;
     * it names no workload, and SPIRE never issues a JWT-SVID for it.
     */
    private static final Set<String> STRICTER_THAN_JAVA_SPIFFE = Set.of("sub is a trust domain");

    private static byte[] pad(byte[] b) {
        return b.length >= 32 ? b : java.util.Arrays.copyOf(b, 32);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void validatesLikeTheSpecAndJavaSpiffe(String name, String token, JwtRejection expected) throws Exception {
        JwtVerdict verdict = JwtSvidValidator.validate(token, "orders", BUNDLES, NOW);
        if (expected == null) {
            assertThat(verdict).isInstanceOfSatisfying(JwtVerdict.Valid.class, v -> {
                assertThat(v.svid().id()).isEqualTo(WORKLOAD);
                assertThat(v.svid().audience()).contains("orders");
            });
        } else {
            assertThat(verdict).isInstanceOfSatisfying(JwtVerdict.Invalid.class, v -> {
                assertThat(v.reason()).as(v.message()).isEqualTo(expected);
                assertThat(v.message()).isNotBlank();
            });
        }
        if (!STRICTER_THAN_JAVA_SPIFFE.contains(name)) {
            assertThat(javaSpiffeAccepts(token)).as("java-spiffe agrees").isEqualTo(expected == null);
        } else {
            assertThat(javaSpiffeAccepts(token)).as("java-spiffe is laxer here, on purpose").isTrue();
        }
    }

    /** java-spiffe's validator over the bundles as java-spiffe reads them from our bundle documents. */
    private static boolean javaSpiffeAccepts(String token) throws Exception {
        BundleCodec codec = new BundleCodec();
        JwtBundleSet set = JwtBundleSet.of(List.of(
                JwtBundle.parse(io.spiffe.spiffeid.TrustDomain.parse("a.test"),
                        codec.toJson(BUNDLES.bundleFor(A).orElseThrow()).getBytes(StandardCharsets.UTF_8)),
                JwtBundle.parse(io.spiffe.spiffeid.TrustDomain.parse("b.test"),
                        codec.toJson(BUNDLES.bundleFor(B).orElseThrow()).getBytes(StandardCharsets.UTF_8))));
        try {
            JwtSvid.parseAndValidate(token, set, Set.of("orders"));
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void signerOutputVerifiesWithNimbusAndJavaSpiffe() throws Exception {
        Instant now = Instant.now();
        io.isthmus.trust.jwt.JwtSvid svid = JwtSvidSigner.sign(A_KEY, WORKLOAD, List.of("orders", "billing"), now,
                Duration.ofMinutes(5));
        SignedJWT parsed = SignedJWT.parse(svid.token());
        assertThat(parsed.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
        assertThat(parsed.getHeader().getKeyID()).isEqualTo(A_KEY.keyId());
        assertThat(parsed.getHeader().getType()).isEqualTo(JOSEObjectType.JWT);
        assertThat(parsed.verify(new ECDSAVerifier((ECPublicKey) A_KEY.keys().getPublic()))).isTrue();
        assertThat(parsed.getJWTClaimsSet().getSubject()).isEqualTo(WORKLOAD.toString());
        assertThat(parsed.getJWTClaimsSet().getAudience()).containsExactly("orders", "billing");
        assertThat(parsed.getJWTClaimsSet().getExpirationTime().toInstant()).isEqualTo(svid.expiry());

        JwtBundle bundle = JwtBundle.parse(io.spiffe.spiffeid.TrustDomain.parse("a.test"),
                new BundleCodec().toJson(BUNDLES.bundleFor(A).orElseThrow()).getBytes(StandardCharsets.UTF_8));
        JwtSvid theirs = JwtSvid.parseAndValidate(svid.token(), bundle, Set.of("billing"));
        assertThat(theirs.getSpiffeId().toString()).isEqualTo(WORKLOAD.toString());
        assertThat(JwtSvidValidator.validate(svid.token(), "billing", BUNDLES, now.plusSeconds(299)))
                .isInstanceOf(JwtVerdict.Valid.class);
        assertThat(JwtSvidValidator.validate(svid.token(), "billing", BUNDLES, now.plusSeconds(301)))
                .isInstanceOfSatisfying(JwtVerdict.Invalid.class, v -> assertThat(v.reason()).isEqualTo(JwtRejection.EXPIRED));
    }

    @Test
    void signerRefusesEmptyAudienceAndLifetime() {
        assertThatThrownBy(() -> JwtSvidSigner.sign(A_KEY, WORKLOAD, List.of(), NOW, Duration.ofMinutes(5)))
                .hasMessageContaining("audience");
        assertThatThrownBy(() -> JwtSvidSigner.sign(A_KEY, WORKLOAD, List.of(" "), NOW, Duration.ofMinutes(5)))
                .hasMessageContaining("audience");
        for (Duration ttl : List.of(Duration.ZERO, Duration.ofMillis(-1), Duration.ofMillis(999))) {
            assertThatThrownBy(() -> JwtSvidSigner.sign(A_KEY, WORKLOAD, List.of("x"), NOW, ttl))
                    .hasMessage("a JWT-SVID lifetime must be at least 1 second, got " + ttl);
        }
        assertThat(JwtSvidSigner.sign(A_KEY, WORKLOAD, List.of("x"), NOW, Duration.ofMinutes(1)).toString())
                .doesNotContain("ey");
    }

    /** iat and exp are whole seconds, rounded down: the token never outlives now + ttl, which a caller may bound. */
    @ParameterizedTest(name = "now +{0} ms, ttl {1} ms: iat +{2} s, exp +{3} s")
    @CsvSource({"0, 300000, 0, 300", "999, 300000, 0, 300", "0, 1000, 0, 1", "999, 1000, 0, 1", "500, 17300, 0, 17",
        "800, 17300, 0, 18", "0, 17999, 0, 17"})
    void signerRoundsDownSoThatTheTokenEndsByNowPlusItsLifetime(long nowMillis, long ttlMillis, long iat, long exp)
            throws Exception {
        Instant now = NOW.plusMillis(nowMillis);
        io.isthmus.trust.jwt.JwtSvid svid = JwtSvidSigner.sign(A_KEY, WORKLOAD, List.of("x"), now,
                Duration.ofMillis(ttlMillis));
        var claims = SignedJWT.parse(svid.token()).getJWTClaimsSet();
        assertThat(claims.getIssueTime().toInstant()).isEqualTo(NOW.plusSeconds(iat));
        assertThat(claims.getExpirationTime().toInstant()).isEqualTo(NOW.plusSeconds(exp)).isEqualTo(svid.expiry())
                .isBeforeOrEqualTo(now.plusMillis(ttlMillis));
    }

    @Test
    void validatedClaimsAreReported() {
        JwtVerdict v = JwtSvidValidator.validate(good(), "orders", BUNDLES, NOW);
        assertThat(v).isInstanceOfSatisfying(JwtVerdict.Valid.class, ok -> {
            assertThat(ok.keyId()).isEqualTo(A_KEY.keyId());
            assertThat(ok.svid().claims()).containsEntry("sub", WORKLOAD.toString()).containsKey("exp");
            assertThat(ok.svid().claims().get("aud")).isEqualTo(List.of("orders"));
        });
    }
}
