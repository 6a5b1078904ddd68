package io.isthmus.registry.signing;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.SvidRejection;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.testing.MutableClock;
import io.isthmus.trust.testing.TestCa;

/**
 * When a kept signer verdict may be reused and when the chain must be verified again, row by row, with real PKI and
 * the production SVID verifier: a revocation (the CA leaves the bundle) and a root change must be seen by the very next
 * record; time must end a kept verdict.
 */
class SignerVerdictsTest {
    private static final Instant NOW = Instant.now();
    private static final TrustDomain EAST = new TrustDomain("east.acme.internal");
    private final MutableClock clock = new MutableClock(NOW);
    private final TestCa pki = TestCa.create(Clock.fixed(NOW.minus(Duration.ofHours(1)), ZoneOffset.UTC));
    private final CaCredential eastCa = pki.intermediate(EAST.name());
    private final AtomicReference<BundleSet> bundles = new AtomicReference<>(BundleSet.of(List.of(
            new TrustBundle(EAST, List.of(eastCa.certificate()), List.of(), 1, Optional.empty()))));
    private final AtomicReference<FederationRoots> roots = new AtomicReference<>(pki.roots());
    private final X509SvidVerifier svids = new X509SvidVerifier(() -> roots.get(), td -> bundles.get().bundleFor(td), clock,
            Duration.ofSeconds(30));
    private final SignerVerdicts verdicts = new SignerVerdicts(svids::verifyEstablished, svids::roots, svids::bundleFor,
            clock);
    private final X509Svid gateway = TestCa.svid(eastCa, "spiffe://east.acme.internal/ns/isthmus-system/sa/gateway",
            Clock.fixed(NOW, ZoneOffset.UTC));

    private SvidVerdict verify(X509Svid svid) {
        return verdicts.verify(List.of(svid.leaf()));
    }

    @Test
    void reusesTheVerdictOfTheSameSignerUnderTheSameSnapshot() {
        assertThat(verify(gateway)).isInstanceOf(SvidVerdict.Verified.class);
        for (int i = 0; i < 100; i++) {
            assertThat(verify(gateway)).isInstanceOf(SvidVerdict.Verified.class);
        }
        assertThat(verdicts.computed()).isEqualTo(1);
    }

    @Test
    void verifiesAgainTheMomentTheSignersCaLeavesTheBundle() {
        assertThat(verify(gateway)).isInstanceOf(SvidVerdict.Verified.class);
        CaCredential next = pki.intermediate(EAST.name());
        bundles.updateAndGet(set -> set.with(set.bundleFor(EAST).orElseThrow()
                .withX509Authorities(List.of(next.certificate()), 2)));
        assertThat(verify(gateway)).isInstanceOfSatisfying(SvidVerdict.Rejected.class,
                r -> assertThat(r.reason()).isEqualTo(SvidRejection.SIGNER_NOT_IN_BUNDLE));
        assertThat(verdicts.computed()).isEqualTo(2);
    }

    @Test
    void verifiesAgainWhenTheBundleIsReplacedEvenWithTheSameCa() {
        verify(gateway);
        bundles.updateAndGet(set -> set.with(set.bundleFor(EAST).orElseThrow()
                .withX509Authorities(List.of(eastCa.certificate()), 2)));
        assertThat(verify(gateway)).isInstanceOf(SvidVerdict.Verified.class);
        assertThat(verdicts.computed()).isEqualTo(2);
    }

    @Test
    void verifiesAgainWhenTheRootsChange() {
        verify(gateway);
        roots.set(TestCa.create(clock).roots()); // a root change that drops the old root: the CA no longer chains
        assertThat(verify(gateway)).isInstanceOf(SvidVerdict.Rejected.class);
        assertThat(verdicts.computed()).isEqualTo(2);
    }

    @Test
    void verifiesAgainOnceTheKeptVerdictIsOlderThanItsMaximumAge() {
        verify(gateway);
        clock.set(NOW.plus(SignerVerdicts.MAX_AGE).minusMillis(1));
        verify(gateway);
        assertThat(verdicts.computed()).isEqualTo(1);
        clock.set(NOW.plus(SignerVerdicts.MAX_AGE));
        verify(gateway);
        assertThat(verdicts.computed()).isEqualTo(2);
        clock.set(NOW.minusSeconds(1)); // the clock stepped back: no reuse either
        verify(gateway);
        assertThat(verdicts.computed()).isEqualTo(3);
    }

    @Test
    void neverKeepsARefusal() {
        CaCredential rogue = pki.intermediate(EAST.name()); // under the root, never published
        X509Svid forged = TestCa.svid(rogue, "spiffe://east.acme.internal/ns/isthmus-system/sa/gateway");
        assertThat(verify(forged)).isInstanceOf(SvidVerdict.Rejected.class);
        assertThat(verify(forged)).isInstanceOf(SvidVerdict.Rejected.class);
        assertThat(verdicts.computed()).isEqualTo(2);
    }

    @Test
    void keepsEachSignerApart() {
        X509Svid renewed = TestCa.svid(eastCa, "spiffe://east.acme.internal/ns/isthmus-system/sa/gateway",
                Clock.fixed(NOW, ZoneOffset.UTC));
        verify(gateway);
        verify(renewed);
        verify(gateway);
        verify(renewed);
        assertThat(verdicts.computed()).isEqualTo(2);
    }
}
