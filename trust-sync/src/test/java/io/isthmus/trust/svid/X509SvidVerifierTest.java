package io.isthmus.trust.svid;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.Test;

import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.MutableClock;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.x509.Certificates;

class X509SvidVerifierTest {
    private static final TrustDomain A = new TrustDomain("a.acme.internal");
    private static final TrustDomain B = new TrustDomain("b.acme.internal");

    private final MutableClock clock = MutableClock.now();
    private final TestCa pki = TestCa.create(clock);
    private final CaCredential caA = pki.intermediate(A.name());
    private final CaCredential caB = pki.intermediate(B.name());
    private final AtomicReference<BundleSet> bundles = new AtomicReference<>(BundleSet.of(List.of(
            bundle(A, 42, caA.certificate()), bundle(B, 7, caB.certificate()))));
    private final X509SvidVerifier verifier = new X509SvidVerifier(pki.roots(), td -> bundles.get().bundleFor(td),
            clock, Duration.ofSeconds(30));

    private static TrustBundle bundle(TrustDomain td, long sequence, X509Certificate... cas) {
        return new TrustBundle(td, List.of(cas), List.of(), sequence, Optional.of(Duration.ofSeconds(5)));
    }

    private SvidVerdict verify(List<X509Certificate> chain) {
        return verifier.verify(chain);
    }

    private static void assertRejected(SvidVerdict verdict, SvidRejection reason, String messagePart) {
        assertThat(verdict).isInstanceOfSatisfying(SvidVerdict.Rejected.class, r -> {
            assertThat(r.reason()).isEqualTo(reason);
            assertThat(r.message()).contains(messagePart);
        });
    }

    @Test
    void acceptsSvidsOfEachFederatedTrustDomain() {
        X509Svid checkout = TestCa.svid(caA, "spiffe://a.acme.internal/ns/shop/sa/checkout", clock);
        X509Svid payments = TestCa.svid(caB, "spiffe://b.acme.internal/ns/billing/sa/payments", clock);
        assertThat(verify(checkout.chain())).isInstanceOfSatisfying(SvidVerdict.Verified.class, v -> {
            assertThat(v.id()).isEqualTo(SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/checkout"));
            assertThat(v.signer()).isEqualTo(caA.certificate());
            assertThat(v.bundleSequence()).isEqualTo(42);
        });
        assertThat(verify(payments.chain()).verified()).isTrue();
        // The leaf alone suffices when its signer is in the bundle.
        assertThat(verify(List.of(payments.leaf())).verified()).isTrue();
    }

    @Test
    void rejectsEmptyChain() {
        assertRejected(verify(List.of()), SvidRejection.EMPTY_CHAIN, "no certificate");
    }

    @Test
    void rejectsLeafWithoutUriSan() {
        List<X509Certificate> chain = TestCa.leaf().chainSignedBy(caA);
        assertRejected(verify(chain), SvidRejection.NO_URI_SAN, "has no URI SAN");
    }

    @Test
    void rejectsLeafWithTwoUriSans() {
        List<X509Certificate> chain = TestCa.leaf().uri("spiffe://a.acme.internal/one").uri("spiffe://a.acme.internal/two")
                .chainSignedBy(caA);
        assertRejected(verify(chain), SvidRejection.MULTIPLE_URI_SANS, "has 2 URI SANs");
    }

    @Test
    void rejectsMalformedSpiffeIdsAndTrustDomainIds() {
        assertRejected(verify(TestCa.leaf().uri("https://a.acme.internal/x").chainSignedBy(caA)),
                SvidRejection.INVALID_SPIFFE_ID, "scheme");
        assertRejected(verify(TestCa.leaf().uri("spiffe://a.acme.internal").chainSignedBy(caA)),
                SvidRejection.INVALID_SPIFFE_ID, "has no path");
    }

    @Test
    void rejectsLeafThatIsACa() {
        List<X509Certificate> chain = TestCa.leaf().uri("spiffe://a.acme.internal/x").ca(true).chainSignedBy(caA);
        assertRejected(verify(chain), SvidRejection.LEAF_IS_CA, "CA:TRUE");
    }

    @Test
    void rejectsLeafThatMaySignCertificates() {
        List<X509Certificate> chain = TestCa.leaf().uri("spiffe://a.acme.internal/x")
                .keyUsage(KeyUsage.digitalSignature | KeyUsage.keyCertSign).chainSignedBy(caA);
        assertRejected(verify(chain), SvidRejection.LEAF_KEY_USAGE, "keyCertSign");
        List<X509Certificate> noSig = TestCa.leaf().uri("spiffe://a.acme.internal/x")
                .keyUsage(KeyUsage.keyEncipherment).chainSignedBy(caA);
        assertRejected(verify(noSig), SvidRejection.LEAF_KEY_USAGE, "digitalSignature");
    }

    @Test
    void rejectsExpiredSvidButToleratesBoundedSkew() {
        X509Svid svid = TestCa.svid(caA, "spiffe://a.acme.internal/x", clock);
        clock.set(svid.notAfter().plusSeconds(29));
        assertThat(verify(svid.chain()).verified()).isTrue();
        clock.set(svid.notAfter().plusSeconds(31));
        assertRejected(verify(svid.chain()), SvidRejection.EXPIRED, "expired at " + svid.notAfter());
    }

    @Test
    void rejectsSvidNotYetValid() {
        Instant now = clock.instant();
        List<X509Certificate> chain = TestCa.leaf().uri("spiffe://a.acme.internal/x")
                .validity(now.plusSeconds(600), now.plusSeconds(3600)).chainSignedBy(caA);
        assertRejected(verify(chain), SvidRejection.NOT_YET_VALID, "check the clocks");
    }

    @Test
    void rejectsChainFromAnotherRoot() {
        CaCredential rogue = TestCa.create(clock).intermediate(A.name());
        X509Svid svid = TestCa.svid(rogue, "spiffe://a.acme.internal/ns/shop/sa/checkout", clock);
        assertRejected(verify(svid.chain()), SvidRejection.UNKNOWN_ROOT, "does not chain to a federation root");
    }

    @Test
    void rejectsIdOutsideTheSignersNameConstraints() {
        // What a thief holding cluster A's intermediate key would try: mint an identity of cluster B.
        List<X509Certificate> forged = TestCa.leaf().uri("spiffe://b.acme.internal/ns/billing/sa/payments")
                .chainSignedBy(caA);
        assertRejected(verify(forged), SvidRejection.OUTSIDE_NAME_CONSTRAINTS,
                "spiffe://b.acme.internal/ns/billing/sa/payments is outside the name constraints of signer serial "
                        + Certificates.serialHex(caA.certificate()));
        // Even if a bundle of B wrongly listed A's intermediate, the constraint still decides.
        bundles.set(bundles.get().with(bundle(B, 8, caB.certificate(), caA.certificate())));
        assertRejected(verify(forged), SvidRejection.OUTSIDE_NAME_CONSTRAINTS, "which permit [a.acme.internal]");
    }

    @Test
    void rejectsSignerAbsentFromTheBundleNamingSerialAndSequence() {
        CaCredential unpublished = pki.intermediate(B.name());
        X509Svid svid = TestCa.svid(unpublished, "spiffe://b.acme.internal/ns/billing/sa/payments", clock);
        assertRejected(verify(svid.chain()), SvidRejection.SIGNER_NOT_IN_BUNDLE,
                "intermediate serial " + Certificates.serialHex(unpublished.certificate())
                        + " is not in the bundle of b.acme.internal, sequence 7");
        assertRejected(verify(List.of(svid.leaf())), SvidRejection.SIGNER_NOT_IN_BUNDLE, "is not in the bundle");
    }

    @Test
    void removingACaFromTheBundleRevokesOnTheNextVerification() {
        CaCredential old = pki.intermediate(B.name());
        bundles.set(bundles.get().with(bundle(B, 8, caB.certificate(), old.certificate())));
        X509Svid svid = TestCa.svid(old, "spiffe://b.acme.internal/ns/billing/sa/payments", clock);
        assertThat(verify(svid.chain()).verified()).isTrue();
        bundles.set(bundles.get().with(bundle(B, 9, caB.certificate())));
        assertRejected(verify(svid.chain()), SvidRejection.SIGNER_NOT_IN_BUNDLE, "sequence 9");
    }

    @Test
    void rejectsTrustDomainWithoutBundle() {
        CaCredential caC = pki.intermediate("c.acme.internal");
        X509Svid svid = TestCa.svid(caC, "spiffe://c.acme.internal/x", clock);
        assertRejected(verify(svid.chain()), SvidRejection.NO_BUNDLE_FOR_TRUST_DOMAIN, "no bundle for trust domain c.acme.internal");
    }

    @Test
    void rejectsLeafWhoseSignatureDoesNotMatchItsIssuer() {
        // A CA with the same name as cluster A's intermediate but another key.
        var impostorBuilder = TestCa.leaf().ca(true).permittedUriSubtree(A.name())
                .sameSubjectAs(caA.certificate());
        CaCredential impostor = new CaCredential(impostorBuilder.keyPair().getPrivate(),
                List.of(impostorBuilder.chainSignedBy(pki.root()).get(0)));
        List<X509Certificate> leafChain = TestCa.leaf().uri("spiffe://a.acme.internal/x").chainSignedBy(impostor);
        List<X509Certificate> presented = List.of(leafChain.get(0), caA.certificate());
        assertRejected(verify(presented), SvidRejection.BAD_SIGNATURE, "is not signed by the presented intermediate");
    }

    @Test
    void rejectsWhenTheSignerItselfExpired() {
        CaCredential shortCa = pki.intermediate(A.name(), Duration.ofMinutes(30));
        bundles.set(bundles.get().with(bundle(A, 43, caA.certificate(), shortCa.certificate())));
        List<X509Certificate> chain = TestCa.leaf().uri("spiffe://a.acme.internal/x")
                .validity(clock.instant().minusSeconds(60), clock.instant().plus(Duration.ofHours(3)))
                .chainSignedBy(shortCa);
        clock.advance(Duration.ofHours(1));
        assertRejected(verify(chain), SvidRejection.SIGNER_EXPIRED, "expired at");
    }

    @Test
    void jdkPkixIndependentlyAgreesOnNameConstraints() throws Exception {
        // The JDK's PKIX validator is a second implementation of RFC 5280 name constraints (FACTS.md).
        X509Svid good = TestCa.svid(caA, "spiffe://a.acme.internal/ns/shop/sa/checkout", clock);
        List<X509Certificate> forged = TestCa.leaf().uri("spiffe://b.acme.internal/ns/billing/sa/payments")
                .chainSignedBy(caA);
        PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(pki.rootCertificate(), null)));
        params.setRevocationEnabled(false);
        params.setDate(java.util.Date.from(clock.instant()));
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        CertPathValidator.getInstance("PKIX").validate(cf.generateCertPath(good.chain()), params);
        org.assertj.core.api.Assertions.assertThatThrownBy(() ->
                CertPathValidator.getInstance("PKIX").validate(cf.generateCertPath(forged), params))
                .isInstanceOf(CertPathValidatorException.class)
                .hasMessageContaining("name constraints");
    }
}
