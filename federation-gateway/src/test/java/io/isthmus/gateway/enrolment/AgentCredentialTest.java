package io.isthmus.gateway.enrolment;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.function.Function;
import java.util.stream.Stream;

import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.x509.Crypto;
import io.isthmus.trust.x509.IsthmusOids;

/**
 * Which client certificates are a VM agent's own credential: only a leaf without the mark
 * {@link IsthmusOids#WORKLOAD_ISSUED_TO_AGENT}. A marked leaf is a workload SVID whatever the mark's value says, an
 * unreadable value included, so that no encoding trick turns a workload SVID into an agent.
 */
class AgentCredentialTest {
    private static final SpiffeId VM = SpiffeId.parse("spiffe://east.example/ns/shop/sa/db-1");
    private static final CaCredential CA = TestCa.create().intermediate("east.example");
    private static final SvidIssuer ISSUER = new SvidIssuer(Clock.systemUTC());
    private static final KeyPair KEYS = Crypto.generateEcP256();

    private static byte[] der(org.bouncycastle.asn1.ASN1Encodable value) {
        try {
            return value.toASN1Primitive().getEncoded(ASN1Encoding.DER);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A leaf signed by the CA for {@code id}, with {@code extra} (a deliberately odd extension) added. */
    private static X509Certificate leafWith(SpiffeId id, Extension extra) {
        try {
            Instant now = Instant.now();
            var b = new JcaX509v3CertificateBuilder(X500Name.getInstance(
                    CA.certificate().getSubjectX500Principal().getEncoded()), BigInteger.valueOf(now.toEpochMilli()),
                    Date.from(now.minusSeconds(60)), Date.from(now.plus(Duration.ofMinutes(30))), new X500Name("O=x"),
                    KEYS.getPublic());
            b.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, id.toString())));
            b.addExtension(extra);
            return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(
                    Crypto.signatureAlgorithm(CA.key())).setProvider(Crypto.BC).build(CA.key())));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static Extension mark(boolean critical, byte[] value) {
        return new Extension(IsthmusOids.WORKLOAD_ISSUED_TO_AGENT, critical, value);
    }

    static Stream<Arguments> rows() {
        Function<SpiffeId, X509Certificate> own = id -> ISSUER.issueCertificate(CA, id, KEYS.getPublic(), Duration.ofMinutes(30));
        Function<SpiffeId, X509Certificate> workload = id -> ISSUER.issueWorkloadCertificate(CA, id, KEYS.getPublic(),
                Duration.ofMinutes(30), VM);
        byte[] trailing = java.util.Arrays.copyOf(der(new DERUTF8String(VM.toString())),
                der(new DERUTF8String(VM.toString())).length + 1);
        return Stream.of(
                // An agent's own SVID, from enrolment or renewal: no mark.
                Arguments.of("the agent's own SVID", own.apply(VM), true, null),
                Arguments.of("an unmarked leaf with another private extension", leafWith(VM,
                        new Extension(new ASN1ObjectIdentifier("2.25.1"), false, der(new DERUTF8String("x")))), true, null),
                // Workload SVIDs the gateway signed for the agent.
                Arguments.of("a workload SVID of the VM's own ID", workload.apply(VM), false, VM.toString()),
                Arguments.of("a workload SVID under the VM's path", workload.apply(SpiffeId.parse(VM + "/billing")), false,
                        VM.toString()),
                Arguments.of("the mark made critical", leafWith(VM, mark(true, der(new DERUTF8String(VM.toString())))),
                        false, VM.toString()),
                Arguments.of("the mark naming another agent", leafWith(VM, mark(false,
                        der(new DERUTF8String("spiffe://east.example/ns/shop/sa/db-2")))), false,
                        "spiffe://east.example/ns/shop/sa/db-2"),
                // A malformed mark is a mark: refused, never read as "no mark".
                Arguments.of("a mark whose value is not DER", leafWith(VM, mark(false, new byte[] {(byte) 0xff, 0x01})),
                        false, "malformed"),
                Arguments.of("a mark whose value is empty", leafWith(VM, mark(false, new byte[0])), false, "malformed"),
                Arguments.of("a mark whose value is an INTEGER", leafWith(VM, mark(false, der(new ASN1Integer(1)))), false,
                        "malformed"),
                Arguments.of("a mark whose value is an empty string", leafWith(VM, mark(false, der(new DERUTF8String("")))),
                        false, "malformed"),
                Arguments.of("a mark with trailing bytes", leafWith(VM, mark(false, trailing)), false, "malformed"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void decides(String name, X509Certificate leaf, boolean agent, String issuedThrough) {
        AgentCredential.Verdict v = AgentCredential.check(leaf);
        assertThat(AgentCredential.isAgentCredential(leaf)).as(name).isEqualTo(agent);
        if (agent) {
            assertThat(v).as(name).isInstanceOf(AgentCredential.Agent.class);
        } else if ("malformed".equals(issuedThrough)) {
            assertThat(v).as(name).isInstanceOfSatisfying(AgentCredential.WorkloadSvid.class, w -> {
                assertThat(w.malformed()).isTrue();
                assertThat(w.issuedThrough()).startsWith("(unreadable mark");
            });
        } else {
            assertThat(v).as(name).isEqualTo(new AgentCredential.WorkloadSvid(issuedThrough, false));
        }
    }
}
