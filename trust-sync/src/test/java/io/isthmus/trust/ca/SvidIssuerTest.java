package io.isthmus.trust.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.MutableClock;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Crypto;

class SvidIssuerTest {
    private final MutableClock clock = MutableClock.now();
    private final TestCa pki = TestCa.create(clock);
    private final CaCredential a = pki.intermediate("a.acme.internal");
    private final SvidIssuer issuer = new SvidIssuer(clock);
    private final SpiffeId checkout = SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/checkout");

    @Test
    void issuesSvidsPerTheX509SvidSpec() throws Exception {
        X509Svid svid = issuer.issue(a, checkout, SvidIssuer.DEFAULT_TTL);
        X509Certificate leaf = svid.leaf();

        assertThat(Certificates.uriSans(leaf)).containsExactly(checkout.toString());
        assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
        assertThat(leaf.getCriticalExtensionOIDs()).contains("2.5.29.19", "2.5.29.15");
        boolean[] usage = leaf.getKeyUsage();
        assertThat(usage[0]).as("digitalSignature").isTrue();
        assertThat(usage[5]).as("keyCertSign").isFalse();
        assertThat(usage[6]).as("cRLSign").isFalse();
        assertThat(leaf.getExtendedKeyUsage()).containsExactlyInAnyOrder("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        assertThat(Duration.between(leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant()))
                .isEqualTo(Duration.ofHours(1).plus(CaFactory.BACKDATE).truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
        assertThat(svid.chain()).containsExactly(leaf, a.certificate());
        leaf.verify(a.certificate().getPublicKey());
    }

    @Test
    void marksOnlyTheSvidsOfWorkloadsAskedForByAnAgentWithANonCriticalExtensionNamingTheAgent() throws Exception {
        String mark = io.isthmus.trust.x509.IsthmusOids.WORKLOAD_ISSUED_TO_AGENT.getId();
        SpiffeId vm = SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/db-1");
        KeyPair keys = Crypto.generateEcP256();

        X509Certificate agentOwn = issuer.issueCertificate(a, vm, keys.getPublic(), Duration.ofMinutes(30));
        assertThat(agentOwn.getExtensionValue(mark)).as("an agent's own SVID").isNull();
        assertThat(issuer.issueFromCsr(a, vm, TestCa.csr(keys, null), Duration.ofMinutes(30)).get(0)
                .getExtensionValue(mark)).isNull();
        assertThat(issuer.issue(a, vm, Duration.ofMinutes(30)).leaf().getExtensionValue(mark)).isNull();

        // The VM's own ID, as a workload may be given it: the same ID and key, but marked.
        X509Certificate workload = issuer.issueWorkloadCertificate(a, vm, keys.getPublic(), Duration.ofMinutes(30), vm);
        assertThat(workload.getNonCriticalExtensionOIDs()).contains(mark);
        assertThat(workload.getCriticalExtensionOIDs()).doesNotContain(mark);
        var value = org.bouncycastle.asn1.ASN1Primitive.fromByteArray(
                org.bouncycastle.asn1.ASN1OctetString.getInstance(workload.getExtensionValue(mark)).getOctets());
        assertThat(((org.bouncycastle.asn1.ASN1UTF8String) value).getString()).isEqualTo(vm.toString());
        // Still an X.509-SVID per the spec: one URI SAN, CA:FALSE, the same critical extensions, signed by the CA.
        assertThat(Certificates.uriSans(workload)).containsExactly(vm.toString());
        assertThat(workload.getBasicConstraints()).isEqualTo(-1);
        assertThat(workload.getCriticalExtensionOIDs()).isEqualTo(agentOwn.getCriticalExtensionOIDs());
        assertThat(workload.getExtendedKeyUsage()).containsExactlyInAnyOrder("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        workload.verify(a.certificate().getPublicKey());
        new X509Svid(vm, keys.getPrivate(), List.of(workload, a.certificate()));
    }

    @Test
    void intermediateIsNameConstrainedToItsTrustDomain() {
        X509Certificate ca = a.certificate();
        assertThat(Certificates.permittedUriSubtrees(ca)).containsExactly("a.acme.internal");
        assertThat(ca.getCriticalExtensionOIDs()).contains("2.5.29.30");
        assertThat(ca.getBasicConstraints()).isZero();
        assertThat(Certificates.uriSans(ca)).containsExactly("spiffe://a.acme.internal");
        assertThat(Certificates.signedBy(ca, pki.rootCertificate())).isTrue();
    }

    @Test
    void lifetimeNeverOutlivesTheCa() {
        CaCredential shortLived = pki.intermediate("a.acme.internal", Duration.ofMinutes(10));
        X509Svid svid = issuer.issue(shortLived, checkout, Duration.ofHours(1));
        assertThat(svid.notAfter()).isEqualTo(shortLived.certificate().getNotAfter().toInstant());
    }

    @Test
    void refusesToSignOutsideItsTrustDomain() {
        assertThatThrownBy(() -> issuer.issue(a, SpiffeId.parse("spiffe://b.acme.internal/ns/x/sa/y"), Duration.ofHours(1)))
                .isInstanceOf(IssuanceException.class)
                .hasMessageContaining("is constrained to a.acme.internal and may not sign spiffe://b.acme.internal/ns/x/sa/y");
    }

    @Test
    void refusesTrustDomainIdsAndAbsurdLifetimes() {
        assertThatThrownBy(() -> issuer.issue(a, SpiffeId.parse("spiffe://a.acme.internal"), Duration.ofHours(1)))
                .hasMessageContaining("needs a path");
        assertThatThrownBy(() -> issuer.issue(a, checkout, Duration.ZERO)).hasMessageContaining("lifetime");
        assertThatThrownBy(() -> issuer.issue(a, checkout, Duration.ofDays(31))).hasMessageContaining("lifetime");
    }

    @Test
    void refusesToSignWithAnExpiredCa() {
        clock.advance(Duration.ofDays(31));
        assertThatThrownBy(() -> issuer.issue(a, checkout, Duration.ofHours(1)))
                .hasMessageContaining("expired").hasMessageContaining("rotate the intermediate");
    }

    @Test
    void signsTheCsrKeyButIgnoresTheIdentityItAsksFor() {
        KeyPair keys = Crypto.generateEcP256();
        byte[] csr = TestCa.csr(keys, "spiffe://b.acme.internal/ns/admin/sa/root");
        List<X509Certificate> chain = issuer.issueFromCsr(a, checkout, csr, Duration.ofMinutes(30));
        assertThat(Certificates.uriSans(chain.get(0))).containsExactly(checkout.toString());
        assertThat(chain.get(0).getPublicKey()).isEqualTo(keys.getPublic());
        assertThat(chain.get(0).getSubjectX500Principal().getName()).doesNotContain("requested");
    }

    @Test
    void refusesCsrWhoseSignedContentWasAltered() throws Exception {
        byte[] good = TestCa.csr(Crypto.generateEcP256(), null);
        byte[] der = io.isthmus.trust.x509.Pem.readCsr(good).getEncoded();
        // The subject says CN=requested; change one letter of it. The DER stays well-formed, the signature not.
        byte[] needle = "requested".getBytes(StandardCharsets.US_ASCII);
        int at = indexOf(der, needle);
        assertThat(at).isPositive();
        der[at] = (byte) 'R';
        assertThatThrownBy(() -> issuer.issueFromCsr(a, checkout, der, Duration.ofMinutes(30)))
                .isInstanceOfSatisfying(CsrException.class, e -> assertThat(e.error()).isEqualTo(CsrError.BAD_SIGNATURE));
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Test
    void refusesCsrSignedByAnotherKey() throws Exception {
        KeyPair requester = Crypto.generateEcP256();
        KeyPair other = Crypto.generateEcP256();
        var builder = new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder(
                new org.bouncycastle.asn1.x500.X500Name("CN=x"), requester.getPublic());
        var csr = builder.build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA")
                .build(other.getPrivate()));
        byte[] pem = io.isthmus.trust.x509.Pem.write(csr).getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> issuer.issueFromCsr(a, checkout, pem, Duration.ofMinutes(30)))
                .isInstanceOfSatisfying(CsrException.class, e -> assertThat(e.error()).isEqualTo(CsrError.BAD_SIGNATURE))
                .hasMessageContaining("requester must hold the key");
    }

    @Test
    void refusesGarbageAndWrongPemBlocks() {
        assertThatThrownBy(() -> issuer.issueFromCsr(a, checkout, "hello".getBytes(StandardCharsets.US_ASCII),
                Duration.ofMinutes(1))).isInstanceOfSatisfying(CsrException.class,
                        e -> assertThat(e.error()).isEqualTo(CsrError.MALFORMED));
        byte[] cert = io.isthmus.trust.x509.Pem.write(a.certificate()).getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> issuer.issueFromCsr(a, checkout, cert, Duration.ofMinutes(1)))
                .isInstanceOfSatisfying(CsrException.class, e -> assertThat(e.error()).isEqualTo(CsrError.MALFORMED))
                .hasMessageContaining("found a CERTIFICATE");
    }

    @Test
    void refusesWeakOrOddKeys() throws Exception {
        KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
        ec.initialize(new ECGenParameterSpec("secp384r1"));
        byte[] p384 = TestCa.csr(ec.generateKeyPair(), null);
        assertThatThrownBy(() -> issuer.issueFromCsr(a, checkout, p384, Duration.ofMinutes(1)))
                .isInstanceOfSatisfying(CsrException.class, e -> assertThat(e.error()).isEqualTo(CsrError.UNSUPPORTED_KEY));
    }

    @Test
    void authorityInstallsOnlyValidIntermediatesOfItsDomain() {
        AuthorityValidator validator = new AuthorityValidator(pki.roots(), Duration.ofSeconds(30));
        CertificateAuthority ca = new CertificateAuthority(new TrustDomain("a.acme.internal"), validator, a, clock);
        CaCredential other = pki.intermediate("b.acme.internal");
        assertThatThrownBy(() -> ca.install(other))
                .isInstanceOfSatisfying(InvalidAuthorityException.class,
                        e -> assertThat(e.error()).isEqualTo(AuthorityError.WRONG_NAME_CONSTRAINTS));
        CaCredential rogue = TestCa.create(clock).intermediate("a.acme.internal");
        assertThatThrownBy(() -> ca.install(rogue))
                .isInstanceOfSatisfying(InvalidAuthorityException.class,
                        e -> assertThat(e.error()).isEqualTo(AuthorityError.NOT_FROM_FEDERATION_ROOT));
        assertThat(ca.current()).isSameAs(a);

        CaCredential next = pki.intermediate("a.acme.internal");
        ca.install(next);
        assertThat(ca.issue(checkout, Duration.ofMinutes(5)).chain().get(1)).isEqualTo(next.certificate());
        assertThatThrownBy(() -> ca.issue(SpiffeId.parse("spiffe://b.acme.internal/x"), Duration.ofMinutes(5)))
                .hasMessageContaining("may not sign");
    }
}
