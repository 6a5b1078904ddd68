package io.isthmus.trust.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.x509.Crypto;

class BundleCodecTest {
    private static final TrustDomain TD = new TrustDomain("b.acme.internal");
    private static final TestCa PKI = TestCa.create();
    private static final CaCredential CA1 = PKI.intermediate(TD.name());
    private static final CaCredential CA2 = PKI.intermediate(TD.name());
    private static final KeyPair JWT = Crypto.generateEcP256();

    private final BundleCodec codec = new BundleCodec();

    private static TrustBundle sample() {
        return new TrustBundle(TD, List.of(CA1.certificate(), CA2.certificate()),
                List.of(new JwtAuthority("key-1", JWT.getPublic())), 42, Optional.of(Duration.ofSeconds(300)));
    }

    private static String x5c(CaCredential ca) {
        try {
            return Base64.getEncoder().encodeToString(ca.certificate().getEncoded());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private ParsedBundle parse(String json) {
        return codec.parse(TD, json.getBytes(StandardCharsets.UTF_8), "test");
    }

    @Test
    void roundTripsEverything() {
        TrustBundle original = sample();
        String json = codec.toJson(original);
        ParsedBundle parsed = parse(json);
        assertThat(parsed.warnings()).isEmpty();
        TrustBundle back = parsed.bundle();
        assertThat(back.x509Authorities()).containsExactlyElementsOf(original.x509Authorities());
        assertThat(back.jwtAuthorities()).hasSize(1);
        assertThat(back.jwtAuthorities().get(0).keyId()).isEqualTo("key-1");
        assertThat(back.jwtAuthorities().get(0).publicKey()).isEqualTo(JWT.getPublic());
        assertThat(back.sequence()).isEqualTo(42);
        assertThat(back.refreshHint()).contains(Duration.ofSeconds(300));
        assertThat(back.sameKeysAs(original)).isTrue();
    }

    @Test
    void writesTheSpecShape() {
        String json = codec.toJson(sample());
        assertThat(json).contains("\"use\" : \"x509-svid\"", "\"kty\" : \"EC\"", "\"crv\" : \"P-256\"", "\"x5c\" : [ \"",
                "\"use\" : \"jwt-svid\"", "\"kid\" : \"key-1\"", "\"spiffe_sequence\" : 42",
                "\"spiffe_refresh_hint\" : 300");
    }

    @Test
    void readsTheSpecAppendixShapeWithoutOptionalParameters() {
        // SPIFFE_Trust_Domain_and_Bundle.md Appendix A: x509-svid entries carry kty, use and x5c.
        String json = "{\"spiffe_sequence\": 1, \"spiffe_refresh_hint\": 2419200, \"keys\": [{\"kty\": \"EC\","
                + " \"use\": \"x509-svid\", \"x5c\": [\"" + x5c(CA1) + "\"]}]}";
        TrustBundle b = parse(json).bundle();
        assertThat(b.x509Authorities()).containsExactly(CA1.certificate());
        assertThat(b.refreshHint()).contains(Duration.ofDays(28));
    }

    @Test
    void ignoresUnknownUseAndKeyTypeAsTheSpecRequiresButSaysSo() {
        String json = "{\"keys\": [{\"kty\": \"EC\", \"use\": \"X509-SVID\", \"x5c\": [\"" + x5c(CA1) + "\"]},"
                + "{\"kty\": \"OKP\", \"use\": \"x509-svid\", \"x5c\": [\"" + x5c(CA1) + "\"]},"
                + "{\"kty\": \"EC\", \"use\": \"x509-svid\", \"x5c\": [\"" + x5c(CA2) + "\"]}],"
                + "\"spiffe_sequence\": 3}";
        ParsedBundle parsed = parse(json);
        assertThat(parsed.bundle().x509Authorities()).containsExactly(CA2.certificate());
        assertThat(parsed.warnings()).anySatisfy(w -> assertThat(w).contains("keys[0]: unknown use 'X509-SVID' ignored"))
                .anySatisfy(w -> assertThat(w).contains("keys[1]: unknown kty 'OKP' ignored"));
    }

    static Stream<Arguments> malformed() {
        String ok = "{\"kty\": \"EC\", \"use\": \"x509-svid\", \"x5c\": [\"" + x5c(CA1) + "\"]}";
        return Stream.of(
                Arguments.of("not json", "{", BundleFormatError.NOT_JSON),
                Arguments.of("trailing garbage", "{\"keys\": []} x", BundleFormatError.NOT_JSON),
                Arguments.of("duplicate member", "{\"keys\": [], \"keys\": [" + ok + "]}", BundleFormatError.NOT_JSON),
                Arguments.of("array at top", "[" + ok + "]", BundleFormatError.NOT_AN_OBJECT),
                Arguments.of("no keys", "{\"spiffe_sequence\": 1}", BundleFormatError.KEYS_MISSING),
                Arguments.of("keys not array", "{\"keys\": {}}", BundleFormatError.KEYS_MISSING),
                Arguments.of("key not object", "{\"keys\": [\"x\"]}", BundleFormatError.KEY_NOT_OBJECT),
                Arguments.of("no use", "{\"keys\": [{\"kty\": \"EC\", \"x5c\": [\"" + x5c(CA1) + "\"]}]}",
                        BundleFormatError.USE_MISSING),
                Arguments.of("use not a string", "{\"keys\": [{\"kty\": \"EC\", \"use\": 1}]}", BundleFormatError.USE_MISSING),
                Arguments.of("no kty", "{\"keys\": [{\"use\": \"x509-svid\", \"x5c\": [\"" + x5c(CA1) + "\"]}]}",
                        BundleFormatError.KTY_MISSING),
                Arguments.of("x5c not base64", "{\"keys\": [{\"kty\": \"EC\", \"use\": \"x509-svid\", \"x5c\": [\"!!!\"]}]}",
                        BundleFormatError.BAD_CERTIFICATE),
                Arguments.of("x5c not a certificate", "{\"keys\": [{\"kty\": \"EC\", \"use\": \"x509-svid\", \"x5c\": [\""
                        + Base64.getEncoder().encodeToString("hello".getBytes(StandardCharsets.US_ASCII)) + "\"]}]}",
                        BundleFormatError.BAD_CERTIFICATE),
                Arguments.of("x5c entry not a string", "{\"keys\": [{\"kty\": \"EC\", \"use\": \"x509-svid\", \"x5c\": [1]}]}",
                        BundleFormatError.BAD_CERTIFICATE),
                Arguments.of("kty disagrees with certificate", "{\"keys\": [{\"kty\": \"RSA\", \"use\": \"x509-svid\", \"x5c\": [\""
                        + x5c(CA1) + "\"]}]}", BundleFormatError.KEY_MISMATCH),
                Arguments.of("x disagrees with certificate", "{\"keys\": [{\"kty\": \"EC\", \"x\": \"AAAA\", \"use\": \"x509-svid\", \"x5c\": [\""
                        + x5c(CA1) + "\"]}]}", BundleFormatError.KEY_MISMATCH),
                Arguments.of("negative sequence", "{\"keys\": [" + ok + "], \"spiffe_sequence\": -1}", BundleFormatError.BAD_SEQUENCE),
                Arguments.of("fractional sequence", "{\"keys\": [" + ok + "], \"spiffe_sequence\": 1.5}", BundleFormatError.BAD_SEQUENCE),
                Arguments.of("huge sequence", "{\"keys\": [" + ok + "], \"spiffe_sequence\": 99999999999999999999999}",
                        BundleFormatError.BAD_SEQUENCE),
                Arguments.of("string sequence", "{\"keys\": [" + ok + "], \"spiffe_sequence\": \"1\"}", BundleFormatError.BAD_SEQUENCE),
                Arguments.of("zero refresh hint", "{\"keys\": [" + ok + "], \"spiffe_refresh_hint\": 0}", BundleFormatError.BAD_REFRESH_HINT),
                Arguments.of("jwt key without kid", "{\"keys\": [{\"kty\": \"EC\", \"use\": \"jwt-svid\", \"crv\": \"P-256\", \"x\": \"AA\", \"y\": \"AA\"}]}",
                        BundleFormatError.BAD_JWT_KEY),
                Arguments.of("jwt key off the curve", "{\"keys\": [{\"kty\": \"EC\", \"kid\": \"k\", \"use\": \"jwt-svid\", \"crv\": \"P-256\", \"x\": \""
                        + "A".repeat(43) + "\", \"y\": \"" + "A".repeat(43) + "\"}]}", BundleFormatError.BAD_JWT_KEY),
                Arguments.of("jwt key other curve", "{\"keys\": [{\"kty\": \"EC\", \"kid\": \"k\", \"use\": \"jwt-svid\", \"crv\": \"P-384\", \"x\": \"AA\", \"y\": \"AA\"}]}",
                        BundleFormatError.BAD_JWT_KEY));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void rejectsMalformedDocumentsWhole(String name, String json, BundleFormatError expected) {
        assertThatThrownBy(() -> parse(json))
                .isInstanceOfSatisfying(BundleFormatException.class, e -> assertThat(e.error()).isEqualTo(expected))
                .hasMessageStartingWith("bundle test " + expected.rule());
    }

    @Test
    void rejectsOversizedDocumentsBeforeParsing() {
        BundleCodec small = new BundleCodec(1024);
        byte[] big = ("{\"keys\": [], \"pad\": \"" + "x".repeat(2000) + "\"}").getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> small.parse(TD, big, "peer"))
                .isInstanceOfSatisfying(BundleFormatException.class,
                        e -> assertThat(e.error()).isEqualTo(BundleFormatError.TOO_LARGE))
                .hasMessageContaining("limit 1024");
    }

    @Test
    void toleratesWhatTheSpecSaysToIgnore() {
        String json = "{\"keys\": [{\"kty\": \"EC\", \"use\": \"x509-svid\"},"
                + "{\"kty\": \"EC\", \"kid\": \"x\", \"use\": \"x509-svid\", \"x5c\": [\"" + x5c(CA1) + "\", \"" + x5c(CA2) + "\"]}],"
                + "\"extra\": true}";
        ParsedBundle parsed = parse(json);
        assertThat(parsed.bundle().x509Authorities()).containsExactly(CA1.certificate());
        assertThat(parsed.bundle().sequence()).isZero();
        assertThat(parsed.warnings()).hasSize(4);
    }
}
