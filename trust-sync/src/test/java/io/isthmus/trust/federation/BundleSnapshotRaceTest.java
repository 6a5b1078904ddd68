package io.isthmus.trust.federation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.runtime.TrustSnapshot;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.testing.TestCa;

/**
 * Two bundle changes race: a's own bundle is republished (what a JWT key publication or a rotation step does) while
 * a membership change, with a second root (a root rotation's overlap), removes peer x. The republication's bundle set
 * is computed first (x still in it) and, waiting for the trust lock the membership change holds, installed last.
 *
 * <p>Real trust runtimes with real bundle endpoints (x and a); a's clock holds the membership change's thread at its
 * first reading of the time, inside the trust lock, until the republication swapped the store. Before the fix a's trust
 * snapshot ({@link TrustRuntime#snapshot()}, and the last snapshot its listeners were given: the expiry metrics, the
 * listeners that re-verify open connections) kept x's bundle after x was removed, and differed from the store, until
 * the next bundle change. Verification reads the store: x's SVIDs were refused all along.
 */
class BundleSnapshotRaceTest {
    @TempDir
    Path dataRoot;

    private final TestCa pki = TestCa.create();
    private final TestCa nextRootPki = TestCa.create();
    private final TestGateways gateways = new TestGateways(pki);

    @AfterEach
    void stop() {
        gateways.close();
    }

    /** The thread that applies the membership change, held while it holds the trust lock. */
    private static final String HELD = "apply-membership";

    private static String stacks(Thread... threads) {
        StringBuilder sb = new StringBuilder();
        for (Thread t : threads) {
            sb.append("\n").append(t.getName()).append(" ").append(t.getState());
            for (StackTraceElement e : t.getStackTrace()) {
                if (e.getClassName().startsWith("io.isthmus")) {
                    sb.append("\n  at ").append(e);
                }
            }
        }
        return sb.toString();
    }

    private static TrustDomain td(String name) {
        return TestGateways.td(name);
    }

    /** A bundle change made on its own thread while a membership change holds the trust lock. */
    @FunctionalInterface
    private interface Change {
        void make(TrustRuntime a) throws Exception;
    }

    /**
     * A membership change (both roots, x removed) is held inside the trust lock; {@code change} runs on another thread
     * until the store holds its bundle set (x still in it) and it waits for the trust lock; then the membership change
     * goes on. Returns a, x's workload SVID and the last snapshot a's listeners were given.
     */
    private void race(Change change, java.util.function.Predicate<TrustRuntime> swapped) throws Exception {
        int xPort = FreePorts.next();
        int aPort = FreePorts.next();
        TrustRuntime x = gateways.start("x", pki.intermediate(td("x").name()), dataRoot.resolve("x"), xPort, List.of(),
                Clock.systemUTC());
        HoldingClock clock = HoldingClock.onThread(HELD);
        TrustRuntime a = gateways.start("a", pki.intermediate(td("a").name()), dataRoot.resolve("a"), aPort,
                List.of(new PeerConfig("cluster-x", td("x"), URI.create("https://127.0.0.1:" + xPort + "/"),
                        Optional.empty())), clock);
        await("a holds x's bundle").atMost(Duration.ofSeconds(15)).until(() -> a.store().bundleFor(td("x")).isPresent());
        AtomicReference<TrustSnapshot> lastEvent = new AtomicReference<>();
        a.addListener(lastEvent::set);

        FederationRoots twoRoots = FederationRoots.of(pki.rootCertificate(), nextRootPki.rootCertificate());
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread membership = new Thread(() -> {
            try {
                a.applyMembership(twoRoots, List.of());
            } catch (Throwable t) {
                failed.set(t);
            }
        }, HELD);
        membership.start();
        assertThat(clock.reached.await(10, TimeUnit.SECONDS)).as("the membership change holds the trust lock").isTrue();

        Thread other = new Thread(() -> {
            try {
                change.make(a);
            } catch (Throwable t) {
                failed.set(t);
            }
        }, "other-change");
        other.start();
        await("the other change swapped the store").atMost(Duration.ofSeconds(10)).until(() -> swapped.test(a));
        await("the other change waits for the trust lock").atMost(Duration.ofSeconds(10))
                .until(() -> other.getState() == Thread.State.BLOCKED);

        clock.release.countDown();
        membership.join(5_000);
        other.join(5_000);
        assertThat(List.of(membership, other)).as("threads still running (a deadlock?): %s", stacks(membership,
                other)).noneMatch(Thread::isAlive);
        assertThat(failed.get()).isNull();

        X509Svid xWorkload = x.ca().issue(SpiffeId.parse("spiffe://x.acme.internal/ns/shop/sa/web"),
                Duration.ofMinutes(10));
        assertThat(a.store().bundleFor(td("x"))).as("x's bundle in a's store").isEmpty();
        assertThat(a.verifier().verify(xWorkload.chain())).as("x's workload SVID at a (the verifier reads the store)")
                .isInstanceOf(SvidVerdict.Rejected.class);
        assertThat(a.snapshot().bundles().bundleFor(td("x"))).as("x's bundle in a's trust snapshot after x was removed")
                .isEmpty();
        assertThat(a.snapshot().bundles()).as("a's trust snapshot against its store").isEqualTo(a.store().snapshot());
        assertThat(a.snapshot().roots()).isEqualTo(twoRoots);
        assertThat(lastEvent.get().bundles()).as("the last snapshot a's listeners were given")
                .isEqualTo(a.store().snapshot());
    }

    /** A peer's bundle installed (what the bundle sync does) while x is removed. */
    @Test
    void theSnapshotInForceIsTheNewestBundleSetWhenTwoChangesRace() throws Exception {
        TrustRuntime y = gateways.start("y", pki.intermediate(td("y").name()), dataRoot.resolve("y"), FreePorts.next(),
                List.of(), Clock.systemUTC());
        TrustBundle yBundle = y.store().bundleFor(td("y")).orElseThrow();
        race(a -> a.store().put(yBundle), a -> a.store().bundleFor(td("y")).isPresent());
    }

    /**
     * a's own bundle republished (a JWT key publication; rotation steps take the same path) while the roots change:
     * before the fix the two threads deadlocked (the republication held the local bundle's lock and waited for the
     * trust lock; the root change held the trust lock and waited for the local bundle's), and with them every later
     * SVID renewal and bundle install.
     */
    @Test
    void aRootChangeAndALocalBundleRepublicationDoNotDeadlock() throws Exception {
        KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
        ec.initialize(256);
        JwtAuthority replicaKey = new JwtAuthority("replica-1", ec.generateKeyPair().getPublic());
        race(a -> a.localBundle().publishJwtAuthorities(List.of(replicaKey)),
                a -> !a.store().bundleFor(td("a")).orElseThrow().jwtAuthorities().isEmpty());
    }
}
