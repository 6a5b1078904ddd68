package io.isthmus.trust.federation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.AuthorityValidator;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.MutableClock;
import io.isthmus.trust.testing.TestCa;

class LocalBundleTest {
    private static final TrustDomain A = new TrustDomain("a.acme.internal");

    @TempDir
    Path dir;

    private final MutableClock clock = MutableClock.now();
    private final TestCa pki = TestCa.create(clock);
    private final CaCredential active = pki.intermediate(A.name());
    private final AuthorityValidator validator = new AuthorityValidator(pki.roots(), Duration.ofSeconds(30));

    private LocalBundle open(Path stateDir) {
        return new LocalBundle(A, new BundleStore(stateDir, new BundleCodec()), validator, clock, Duration.ofMinutes(5));
    }

    @Test
    void sequenceContinuesAcrossRestartsAndNeverGoesBack() throws Exception {
        LocalBundle first = open(dir);
        TrustBundle initial = first.initialize(active.certificate());
        assertThat(initial.sequence()).isGreaterThanOrEqualTo(clock.instant().getEpochSecond());
        TrustBundle published = first.publish(pki.intermediate(A.name()).certificate());
        assertThat(published.sequence()).isGreaterThan(initial.sequence());

        // Restart with the same state: nothing changed, so the same sequence is served.
        assertThat(open(dir).initialize(active.certificate()).sequence()).isEqualTo(published.sequence());
    }

    @Test
    void aClusterThatLostItsStateStillStartsAboveWhatPeersHold() throws Exception {
        TrustBundle before = open(dir.resolve("old")).initialize(active.certificate());
        clock.advance(Duration.ofMinutes(1));
        TrustBundle afterWipe = open(dir.resolve("wiped")).initialize(active.certificate());
        assertThat(afterWipe.sequence()).isGreaterThan(before.sequence());
    }

    @Test
    void theActiveSignerCannotBeWithdrawnAndUnknownSerialsAreNamed() throws Exception {
        LocalBundle bundle = open(dir);
        bundle.initialize(active.certificate());
        assertThatThrownBy(() -> bundle.withdraw(active.certificate().getSerialNumber()))
                .hasMessageContaining("is the active signer").hasMessageContaining("activate a new intermediate");
        assertThatThrownBy(() -> bundle.withdraw(java.math.BigInteger.TEN))
                .hasMessageContaining("no CA with serial a in the bundle of a.acme.internal");
        assertThatThrownBy(() -> bundle.publish(pki.intermediate("b.acme.internal").certificate()))
                .hasMessageContaining("constrained to other names");
    }
}
