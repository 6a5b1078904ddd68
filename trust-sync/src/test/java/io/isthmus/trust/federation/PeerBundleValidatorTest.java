package io.isthmus.trust.federation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.AuthorityValidator;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.federation.PeerBundleValidator.Decision;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.MutableClock;
import io.isthmus.trust.testing.TestCa;

class PeerBundleValidatorTest {
    private static final TrustDomain B = new TrustDomain("b.acme.internal");

    private final MutableClock clock = MutableClock.now();
    private final TestCa pki = TestCa.create(clock);
    private final CaCredential b1 = pki.intermediate(B.name());
    private final CaCredential b2 = pki.intermediate(B.name());
    private final PeerBundleValidator validator = new PeerBundleValidator(
            new AuthorityValidator(pki.roots(), Duration.ofSeconds(30)), clock);

    private static TrustBundle bundle(TrustDomain td, long seq, X509Certificate... cas) {
        return new TrustBundle(td, List.of(cas), List.of(), seq, Optional.empty());
    }

    private void assertRejected(TrustBundle candidate, Optional<TrustBundle> previous, BundleRejection reason, String part) {
        assertThatThrownBy(() -> validator.decide(B, candidate, previous))
                .isInstanceOfSatisfying(BundleRejectedException.class, e -> assertThat(e.reason()).isEqualTo(reason))
                .hasMessageContaining(part);
    }

    @Test
    void acceptsABundleOfConstrainedIntermediatesFromTheRoot() throws Exception {
        Decision d = validator.decide(B, bundle(B, 1, b1.certificate(), b2.certificate()), Optional.empty());
        assertThat(d).isInstanceOfSatisfying(Decision.Accept.class,
                a -> assertThat(a.bundle().x509Authorities()).hasSize(2));
    }

    @Test
    void rejectsAnIntermediateOfAnotherTrustDomain() {
        CaCredential a = pki.intermediate("a.acme.internal");
        assertRejected(bundle(B, 2, b1.certificate(), a.certificate()), Optional.empty(),
                BundleRejection.INVALID_AUTHORITY, "is constrained to other names than its trust domain (permits a.acme.internal)");
    }

    @Test
    void anotherTrustDomainsBundleIsReportedAsThatEvenWhenItsSequenceDoesNotAdvance() {
        // Another domain's bundle served at B's endpoint typically also has an unrelated sequence: the operator must
        // read "not B's CAs", not a replay, whatever the sequence says.
        CaCredential a = pki.intermediate("a.acme.internal");
        TrustBundle held = bundle(B, 7, b1.certificate());
        assertRejected(bundle(B, 7, a.certificate()), Optional.of(held), BundleRejection.INVALID_AUTHORITY,
                "permits a.acme.internal");
        assertRejected(bundle(B, 3, a.certificate()), Optional.of(held), BundleRejection.INVALID_AUTHORITY,
                "permits a.acme.internal");
    }

    @Test
    void rejectsAnIntermediateFromAnotherRoot() {
        CaCredential rogue = TestCa.create(clock).intermediate(B.name());
        assertRejected(bundle(B, 2, rogue.certificate()), Optional.empty(), BundleRejection.INVALID_AUTHORITY,
                "is not signed by any federation root");
    }

    @Test
    void rejectsAnUnconstrainedCaAndTheRootItself() {
        var builder = TestCa.leaf().ca(true);
        X509Certificate unconstrained = builder.chainSignedBy(pki.root()).get(0);
        assertRejected(bundle(B, 2, unconstrained), Optional.empty(), BundleRejection.INVALID_AUTHORITY,
                "has no URI name constraint");
        assertRejected(bundle(B, 2, pki.rootCertificate()), Optional.empty(), BundleRejection.INVALID_AUTHORITY,
                "has no URI name constraint");
    }

    @Test
    void rejectsABundleForAnotherTrustDomain() {
        assertRejected(bundle(new TrustDomain("c.acme.internal"), 1, b1.certificate()), Optional.empty(),
                BundleRejection.WRONG_TRUST_DOMAIN, "expected b.acme.internal");
    }

    @Test
    void sequenceNeverGoesBackwards() throws Exception {
        TrustBundle at42 = bundle(B, 42, b1.certificate());
        assertRejected(bundle(B, 41, b1.certificate(), b2.certificate()), Optional.of(at42),
                BundleRejection.SEQUENCE_WENT_BACKWARDS, "sequence 41, older than the accepted 42; keeping 42");
        assertRejected(bundle(B, 42, b2.certificate()), Optional.of(at42), BundleRejection.SEQUENCE_REUSED,
                "without advancing its sequence 42");
        assertThat(validator.decide(B, bundle(B, 42, b1.certificate()), Optional.of(at42)))
                .isInstanceOf(Decision.Unchanged.class);
        assertThat(validator.decide(B, bundle(B, 43, b2.certificate()), Optional.of(at42)))
                .isInstanceOf(Decision.Accept.class);
    }

    @Test
    void anOlderSequenceWithTheKeysAlreadyHeldIsTheSameTrustNotARollback() throws Exception {
        // Two replicas of cluster B behind one load balancer: one started at 42, the other at 40, same CAs.
        TrustBundle at42 = bundle(B, 42, b1.certificate(), b2.certificate());
        assertThat(validator.decide(B, bundle(B, 40, b2.certificate(), b1.certificate()), Optional.of(at42)))
                .isInstanceOfSatisfying(Decision.Unchanged.class, u -> assertThat(u.current().sequence()).isEqualTo(42));
        // ... but an older sequence that drops or adds a CA is still refused.
        assertRejected(bundle(B, 40, b1.certificate()), Optional.of(at42), BundleRejection.SEQUENCE_WENT_BACKWARDS,
                "sequence 40, older than the accepted 42");
    }

    @Test
    void dropsExpiredCasButRefusesABundleWithNothingLeft() throws Exception {
        CaCredential shortLived = pki.intermediate(B.name(), Duration.ofMinutes(5));
        clock.advance(Duration.ofMinutes(10));
        Decision d = validator.decide(B, bundle(B, 3, b1.certificate(), shortLived.certificate()), Optional.empty());
        assertThat(d).isInstanceOfSatisfying(Decision.Accept.class, a -> {
            assertThat(a.bundle().x509Authorities()).containsExactly(b1.certificate());
            assertThat(a.warnings()).singleElement().asString().contains("dropped expired CA");
        });
        assertRejected(bundle(B, 4, shortLived.certificate()), Optional.empty(), BundleRejection.NO_AUTHORITIES,
                "has no valid x509-svid authority");
    }
}
