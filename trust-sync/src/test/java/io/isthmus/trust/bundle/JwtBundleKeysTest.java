package io.isthmus.trust.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;

import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Crypto;

/**
 * The {@code jwt-svid} entries of a SPIFFE bundle, row by row. The valid JWKs are written by an independent library
 * (nimbus-jose-jwt), so the parser is checked against someone else's encoding, not only its own.
 */
class JwtBundleKeysTest {
    private static final TrustDomain TD = new TrustDomain("a.test");
    private static final KeyPair EC = Crypto.generateEcP256();
    private static final KeyPair EC2 = Crypto.generateEcP256();

    private static String ec(KeyPair k, String kid) {
        ECKey.Builder b = new ECKey.Builder(Curve.P_256, (ECPublicKey) k.getPublic());
        if (kid != null) {
            b.keyID(kid);
        }
        // nimbus's KeyUse has no jwt-svid: add the member by hand.
        return b.build().toJSONString().replaceFirst("\\{", "{\"use\":\"jwt-svid\",");
    }

    private static String doc(String... keys) {
        return "{\"keys\":[" + String.join(",", keys) + "],\"spiffe_sequence\":1}";
    }

    static Stream<Arguments> rows() throws Exception {
        KeyPairGenerator rsaGen = KeyPairGenerator.getInstance("RSA");
        rsaGen.initialize(2048);
        KeyPair rsa = rsaGen.generateKeyPair();
        String rsaJwk = new RSAKey.Builder((RSAPublicKey) rsa.getPublic()).keyID("r1").build().toJSONString()
                .replaceFirst("\\{", "{\"use\":\"jwt-svid\",");
        KeyPairGenerator small = KeyPairGenerator.getInstance("RSA");
        small.initialize(1024);
        String smallRsa = new RSAKey.Builder((RSAPublicKey) small.generateKeyPair().getPublic()).keyID("r0").build()
                .toJSONString().replaceFirst("\\{", "{\"use\":\"jwt-svid\",");
        KeyPairGenerator p384 = KeyPairGenerator.getInstance("EC");
        p384.initialize(new ECGenParameterSpec("secp384r1"));
        String p384Jwk = new ECKey.Builder(Curve.P_384, (ECPublicKey) p384.generateKeyPair().getPublic()).keyID("p3")
                .build().toJSONString().replaceFirst("\\{", "{\"use\":\"jwt-svid\",");
        String withPrivate = new ECKey.Builder(Curve.P_256, (ECPublicKey) EC.getPublic())
                .privateKey((ECPrivateKey) EC.getPrivate()).keyID("leak").build().toJSONString()
                .replaceFirst("\\{", "{\"use\":\"jwt-svid\",");
        String sigUse = new ECKey.Builder(Curve.P_256, (ECPublicKey) EC.getPublic()).keyUse(KeyUse.SIGNATURE)
                .keyID("sig").build().toJSONString();
        return Stream.of(
                Arguments.of("EC P-256 with kid", doc(ec(EC, "k1")), null, 1),
                Arguments.of("two EC keys (rotation overlap)", doc(ec(EC, "k1"), ec(EC2, "k2")), null, 2),
                Arguments.of("RSA 2048 with kid", doc(rsaJwk), null, 1),
                Arguments.of("unknown kty ignored (spec)", doc("{\"use\":\"jwt-svid\",\"kty\":\"OKP\",\"kid\":\"o\","
                        + "\"crv\":\"Ed25519\",\"x\":\"AA\"}"), null, 0),
                Arguments.of("use sig ignored (spec: unknown use)", doc(sigUse), null, 0),
                Arguments.of("missing kid", doc(ec(EC, null)), BundleFormatError.BAD_JWT_KEY, 0),
                Arguments.of("empty kid", doc(ec(EC, "")), BundleFormatError.BAD_JWT_KEY, 0),
                Arguments.of("duplicate kid", doc(ec(EC, "k1"), ec(EC2, "k1")), BundleFormatError.DUPLICATE_KEY_ID, 0),
                Arguments.of("private part d present", doc(withPrivate), BundleFormatError.PRIVATE_KEY_PUBLISHED, 0),
                Arguments.of("unsupported curve P-384", doc(p384Jwk), BundleFormatError.BAD_JWT_KEY, 0),
                Arguments.of("RSA 1024", doc(smallRsa), BundleFormatError.BAD_JWT_KEY, 0),
                Arguments.of("EC without y", doc(ec(EC, "k1").replaceAll(",?\"y\":\"[^\"]*\"", "")),
                        BundleFormatError.BAD_JWT_KEY, 0),
                Arguments.of("x not base64url", doc(ec(EC, "k1").replaceAll("\"x\":\"[^\"]*\"", "\"x\":\"!!\"")),
                        BundleFormatError.BAD_JWT_KEY, 0),
                Arguments.of("x of the wrong length", doc(ec(EC, "k1").replaceAll("\"x\":\"[^\"]*\"", "\"x\":\"AAAA\"")),
                        BundleFormatError.BAD_JWT_KEY, 0),
                Arguments.of("point off the curve", doc(ec(EC, "k1").replaceAll("\"y\":\"[^\"]*\"",
                        "\"y\":\"" + ECKey.parse(ec(EC2, "z")).getY() + "\"")), BundleFormatError.BAD_JWT_KEY, 0),
                Arguments.of("oct secret key", doc("{\"use\":\"jwt-svid\",\"kty\":\"oct\",\"kid\":\"s\",\"k\":\"c2VjcmV0\"}"),
                        null, 0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void parsesJwtSvidKeys(String name, String json, BundleFormatError expected, int keys) {
        BundleCodec codec = new BundleCodec();
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        if (expected == null) {
            ParsedBundle parsed = codec.parse(TD, bytes, "row");
            assertThat(parsed.bundle().jwtAuthorities()).hasSize(keys);
            // What we read, we write back in a form that reads the same.
            assertThat(codec.parse(TD, codec.toJson(parsed.bundle()).getBytes(StandardCharsets.UTF_8), "again").bundle()
                    .sameKeysAs(parsed.bundle())).isTrue();
        } else {
            assertThatThrownBy(() -> codec.parse(TD, bytes, "row")).isInstanceOfSatisfying(BundleFormatException.class,
                    e -> assertThat(e.error()).isEqualTo(expected));
        }
    }
}
