package io.isthmus.trust.svid;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.MutableClock;
import io.isthmus.trust.testing.TestCa;

/**
 * What happens to an open connection when trust changes, by its peer's situation: kept while its signer is trusted
 * (even after its own SVID expired), drained when the signer was retired after the SVID expired, closed when the
 * signer or its root was removed while the SVID is still valid (a revocation).
 */
class EstablishedPeerTest {
    private static final TrustDomain B = new TrustDomain("b.acme.internal");
    private static final SpiffeId GATEWAY = SpiffeId.parse("spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway");

    private final MutableClock clock = MutableClock.now();
    private final TestCa pki = TestCa.create(clock);
    private final CaCredential old = pki.intermediate(B.name());
    private final CaCredential next = pki.intermediate(B.name());
    private final AtomicReference<BundleSet> bundles = new AtomicReference<>(bundleWith(old, next));
    private final AtomicReference<FederationRoots> roots = new AtomicReference<>(pki.roots());
    private final X509SvidVerifier verifier = new X509SvidVerifier(roots::get, td -> bundles.get().bundleFor(td), clock,
            Duration.ofSeconds(30));
    private final X509Svid peer = new SvidIssuer(clock).issue(old, GATEWAY, Duration.ofMinutes(10));

    private static BundleSet bundleWith(CaCredential... cas) {
        return BundleSet.of(List.of(new TrustBundle(B, java.util.Arrays.stream(cas).map(CaCredential::certificate).toList(),
                List.of(), 1, Optional.empty())));
    }

    private EstablishedPeer recheck() {
        return EstablishedPeer.recheck(verifier, peer.chain(), clock.instant());
    }

    @Test
    void keepsAConnectionWhoseSignerIsStillTrusted() {
        assertThat(recheck()).isInstanceOf(EstablishedPeer.Keep.class);
    }

    @Test
    void keepsAConnectionWhosePeerSvidExpiredSinceTheHandshake() {
        clock.advance(Duration.ofMinutes(20));
        assertThat(verifier.verify(peer.chain())).as("a new handshake would be refused").isInstanceOfSatisfying(
                SvidVerdict.Rejected.class, r -> assertThat(r.reason()).isEqualTo(SvidRejection.EXPIRED));
        assertThat(recheck()).isInstanceOf(EstablishedPeer.Keep.class);
    }

    @Test
    void drainsAConnectionWhoseSignerRetiredAfterItsSvidExpired() {
        clock.advance(Duration.ofMinutes(20));
        bundles.set(bundleWith(next));
        assertThat(recheck()).isInstanceOfSatisfying(EstablishedPeer.Drain.class,
                d -> assertThat(d.reason()).isEqualTo(SvidRejection.SIGNER_NOT_IN_BUNDLE));
    }

    @Test
    void closesAConnectionWhoseSignerWasWithdrawnWhileItsSvidIsValid() {
        bundles.set(bundleWith(next));
        assertThat(recheck()).isInstanceOfSatisfying(EstablishedPeer.Close.class,
                c -> assertThat(c.reason()).isEqualTo(SvidRejection.SIGNER_NOT_IN_BUNDLE));
    }

    @Test
    void closesAConnectionWhoseRootWasRemovedWhileItsSvidIsValid() {
        roots.set(TestCa.create(clock).roots());
        assertThat(recheck()).isInstanceOfSatisfying(EstablishedPeer.Close.class,
                c -> assertThat(c.reason()).isEqualTo(SvidRejection.UNKNOWN_ROOT));
    }
}
