package io.isthmus.trust.rotation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.AuthorityValidator;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.CaFactory;
import io.isthmus.trust.ca.CertificateAuthority;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.federation.BundleStore;
import io.isthmus.trust.federation.LocalBundle;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.MutableClock;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Crypto;

/**
 * The intermediate rotation's state machine against a real bundle store and CA on disk, a hand-moved clock and fake
 * peers: every phase in order, each step repeated (idempotent), each refusal named with the trust state on disk
 * unchanged, a gateway that "crashes" between steps resuming where it was, and a file-driven rotation run by ticks.
 */
class IntermediateRotationTest {
    private static final TrustDomain A = new TrustDomain("a.acme.internal");
    private static final Duration RETIRE_AFTER = Duration.ofMinutes(10);
    private static final Duration SKEW = Duration.ofSeconds(30);
    private static final Duration AGENT_REFRESH = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private final MutableClock clock = MutableClock.now();
    private final TestCa pki = TestCa.create(clock);
    private final AuthorityValidator authorities = new AuthorityValidator(pki.roots(), SKEW);
    private final AtomicInteger reissued = new AtomicInteger();
    private CaCredential first;
    private CertificateAuthority ca;
    private LocalBundle bundle;
    private FakePeers peers;
    private IntermediateRotation rotation;

    @BeforeEach
    void setUp() throws IOException {
        first = pki.intermediate(A.name());
        ca = new CertificateAuthority(A, authorities, first, clock);
        bundle = new LocalBundle(A, new BundleStore(dir.resolve("bundles"), new BundleCodec()), authorities, clock,
                Duration.ofMinutes(5));
        bundle.initialize(first.certificate());
        peers = new FakePeers(clock, pki.roots(), A);
        rotation = open();
    }

    private IntermediateRotation open() throws IOException {
        RotationStore store = new RotationStore(dir.resolve("rotation"));
        return new IntermediateRotation(A, store, store.load(), ca, bundle, authorities, pki.roots(), peers,
                reissued::incrementAndGet, new RotationSettings(RETIRE_AFTER, Duration.ofSeconds(1), Duration.ofSeconds(1),
                        AGENT_REFRESH, 0.2), SKEW, clock);
    }

    /** The root signs the key of {@code csr} for {@code td}, valid for {@code validity}. */
    private X509Certificate rootSigns(String csr, TrustDomain td, Duration validity) {
        PublicKey key = SvidIssuer.verifiedKey(csr.getBytes(StandardCharsets.US_ASCII));
        return new CaFactory(clock).issueIntermediateCertificate(pki.root(), td, key, validity);
    }

    private void everyPeerHoldsTheCurrentBundle() {
        peers.holds("west", Optional.of(bundle.current()));
        peers.holds("onprem", Optional.of(bundle.current()));
    }

    @Test
    void runsEveryPhaseInOrderAndEachStepIsIdempotent() throws Exception {
        String csr = rotation.prepare();
        assertThat(rotation.prepare()).as("prepare again answers the same CSR").isEqualTo(csr);
        assertThat(rotation.state().phase()).isEqualTo(RotationPhase.PREPARED);
        assertThat(Files.getPosixFilePermissions(dir.resolve("rotation/next.key")).toString()).isEqualTo("[OWNER_READ, OWNER_WRITE]");

        X509Certificate next = rootSigns(csr, A, Duration.ofDays(30));
        String serial = Certificates.serialHex(next);
        RotationView signed = rotation.sign(List.of(next));
        assertThat(signed.phase()).isEqualTo(RotationPhase.SIGNED);
        assertThat(signed.nextSerial()).contains(serial);
        assertThat(rotation.sign(List.of(next)).phase()).as("sign again").isEqualTo(RotationPhase.SIGNED);
        assertThat(bundle.current().containsAuthority(next)).as("not published before publish").isFalse();

        RotationView published = rotation.publish();
        long sequence = published.publishedSequence();
        assertThat(bundle.current().x509Authorities()).containsExactly(first.certificate(), next);
        assertThat(rotation.publish().publishedSequence()).as("publish again").isEqualTo(sequence);
        assertThat(bundle.current().sequence()).isEqualTo(sequence);

        everyPeerHoldsTheCurrentBundle();
        clock.advance(AGENT_REFRESH);
        RotationView activated = rotation.activate(false);
        assertThat(activated.phase()).isEqualTo(RotationPhase.ACTIVATED);
        assertThat(ca.current().certificate()).isEqualTo(next);
        assertThat(reissued).as("the gateway's own SVID is reissued once").hasValue(1);
        X509Certificate leaf = ca.issue(SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/cart"), Duration.ofMinutes(5))
                .chain().get(1);
        assertThat(leaf).as("new SVIDs are signed by the new CA").isEqualTo(next);
        assertThat(rotation.activate(false).phase()).as("activate again").isEqualTo(RotationPhase.ACTIVATED);
        assertThat(reissued).hasValue(1);
        assertThat(activated.retireAt()).contains(clock.instant().plus(RETIRE_AFTER).plus(SKEW));

        assertThatThrownBy(() -> rotation.retire(false)).isInstanceOfSatisfying(RotationException.class,
                e -> assertThat(e.refusal()).isEqualTo(RotationRefusal.NOT_DUE));
        rotation.tick();
        assertThat(rotation.state().phase()).as("not retired by the clock before it is due").isEqualTo(RotationPhase.ACTIVATED);
        clock.advance(RETIRE_AFTER.plus(SKEW));
        rotation.tick();
        assertThat(rotation.state().phase()).as("retired by the clock").isEqualTo(RotationPhase.RETIRED);
        assertThat(bundle.current().x509Authorities()).containsExactly(next);
        assertThat(rotation.retire(false).phase()).as("retire again").isEqualTo(RotationPhase.RETIRED);
        assertThat(rotation.view().stepDurations()).as("sign, publish, wait+activate, retire").hasSize(4);
        assertThat(rotation.state().usedSerials()).containsExactly(Certificates.serialHex(first.certificate()));
        assertThat(Files.exists(dir.resolve("rotation/next.key"))).as("the new key's working copy is gone").isFalse();
    }

    /** The issue's bad-input table: each refused with its named reason, nothing changed on disk. */
    @Test
    void refusesBadIntermediatesByNameAndChangesNothingOnDisk() throws Exception {
        String csr = rotation.prepare();
        TestCa stranger = TestCa.create(clock);
        KeyPair otherKey = Crypto.generateEcP256();
        X509Certificate expiring = rootSigns(csr, A, Duration.ofHours(1));
        record Row(String what, List<X509Certificate> chain, RotationRefusal expected, Runnable before) {
        }
        List<Row> rows = List.of(
                new Row("an intermediate of another trust domain", List.of(rootSigns(csr, new TrustDomain("b.acme.internal"),
                        Duration.ofDays(30))), RotationRefusal.WRONG_TRUST_DOMAIN, () -> { }),
                new Row("one not signed by any configured root", List.of(new CaFactory(clock)
                        .issueIntermediateCertificate(stranger.root(), A, SvidIssuer.verifiedKey(
                                csr.getBytes(StandardCharsets.US_ASCII)), Duration.ofDays(30))),
                        RotationRefusal.NOT_UNDER_A_ROOT, () -> { }),
                new Row("a key that does not match the CSR", List.of(new CaFactory(clock).issueIntermediateCertificate(
                        pki.root(), A, otherKey.getPublic(), Duration.ofDays(30))), RotationRefusal.KEY_MISMATCH, () -> { }),
                new Row("a leaf, not a CA", List.of(TestCa.svid(first, "spiffe://a.acme.internal/ns/x/sa/y").leaf()),
                        RotationRefusal.NOT_A_CA, () -> { }),
                new Row("a chain with a stranger's certificate after the intermediate",
                        List.of(rootSigns(csr, A, Duration.ofDays(30)), stranger.rootCertificate()),
                        RotationRefusal.MALFORMED, () -> { }),
                new Row("an expired one", List.of(expiring), RotationRefusal.EXPIRED,
                        () -> clock.advance(Duration.ofHours(2))));
        for (Row row : rows) {
            row.before().run();
            Map<String, String> before = onDisk();
            assertThatThrownBy(() -> rotation.sign(row.chain())).as(row.what())
                    .isInstanceOfSatisfying(RotationException.class, e -> {
                        assertThat(e.refusal()).as(row.what()).isEqualTo(row.expected());
                        assertThat(e.getMessage()).as(row.what()).contains(Certificates.serialHex(row.chain().get(0)));
                    });
            assertThat(onDisk()).as("trust state on disk after " + row.what()).isEqualTo(before);
            assertThat(rotation.state().phase()).isEqualTo(RotationPhase.PREPARED);
        }
    }

    @Test
    void refusesToActivateWhilePeersLackTheNewCaNamingThemUnlessForced() throws Exception {
        everyPeerHoldsTheCurrentBundle();
        rotation.sign(List.of(rootSigns(rotation.prepare(), A, Duration.ofDays(30))));
        rotation.publish();
        clock.advance(AGENT_REFRESH);
        peers.holds("west", Optional.of(bundle.current()));
        peers.holds("onprem", Optional.empty());
        Map<String, String> before = onDisk();
        assertThatThrownBy(() -> rotation.activate(false)).isInstanceOfSatisfying(RotationException.class, e -> {
            assertThat(e.refusal()).isEqualTo(RotationRefusal.PEERS_LACK_CA);
            assertThat(e.getMessage()).contains("onprem: no status: connection refused").doesNotContain("west:");
        });
        peers.holds("onprem", Optional.of(new TrustBundle(A, List.of(first.certificate()), List.of(),
                bundle.current().sequence() - 1, Optional.empty())));
        assertThatThrownBy(() -> rotation.activate(false)).isInstanceOfSatisfying(RotationException.class,
                e -> assertThat(e.getMessage()).contains("onprem: holds bundle sequence").contains("without CA serial "
                        + rotation.state().nextSerial().orElseThrow()));
        assertThat(onDisk()).isEqualTo(before);
        assertThat(ca.current()).isEqualTo(first);
        assertThat(rotation.activate(true).phase()).as("--force").isEqualTo(RotationPhase.ACTIVATED);
    }

    @Test
    void waitsOneAgentRefreshAfterPublishingBeforeActivating() throws Exception {
        rotation.sign(List.of(rootSigns(rotation.prepare(), A, Duration.ofDays(30))));
        rotation.publish();
        everyPeerHoldsTheCurrentBundle();
        assertThatThrownBy(() -> rotation.activate(false)).isInstanceOfSatisfying(RotationException.class,
                e -> assertThat(e.refusal()).isEqualTo(RotationRefusal.AGENTS_MAY_LACK_CA));
        clock.advance(AGENT_REFRESH);
        assertThat(rotation.activate(false).phase()).isEqualTo(RotationPhase.ACTIVATED);
    }

    @Test
    void stepsOutOfOrderAreRefusedByName() throws Exception {
        assertThatThrownBy(() -> rotation.publish()).isInstanceOfSatisfying(RotationException.class,
                e -> assertThat(e.refusal()).isEqualTo(RotationRefusal.NOT_PREPARED));
        assertThatThrownBy(() -> rotation.activate(true)).isInstanceOfSatisfying(RotationException.class,
                e -> assertThat(e.refusal()).isEqualTo(RotationRefusal.NOT_PREPARED));
        String csr = rotation.prepare();
        assertThatThrownBy(() -> rotation.activate(true)).isInstanceOfSatisfying(RotationException.class,
                e -> assertThat(e.refusal()).isEqualTo(RotationRefusal.WRONG_PHASE));
        rotation.sign(List.of(rootSigns(csr, A, Duration.ofDays(30))));
        assertThatThrownBy(() -> rotation.submit(pki.intermediate(A.name()), false))
                .isInstanceOfSatisfying(RotationException.class,
                        e -> assertThat(e.refusal()).isEqualTo(RotationRefusal.ROTATION_IN_PROGRESS));
    }

    /** A gateway killed after a step resumes in the same phase from disk and completes the rotation. */
    @Test
    void resumesAfterACrashBetweenPublishAndActivate() throws Exception {
        rotation.sign(List.of(rootSigns(rotation.prepare(), A, Duration.ofDays(30))));
        long sequence = rotation.publish().publishedSequence();
        String next = rotation.state().nextSerial().orElseThrow();

        // "Restart": everything rebuilt from the data directory, the configured intermediate still the first one.
        ca = new CertificateAuthority(A, authorities, first, clock);
        bundle = new LocalBundle(A, new BundleStore(dir.resolve("bundles"), new BundleCodec()), authorities, clock,
                Duration.ofMinutes(5));
        RotationStore store = new RotationStore(dir.resolve("rotation"));
        RotationState loaded = store.load();
        CaCredential signer = IntermediateRotation.signerAtStart(store, loaded, first);
        assertThat(signer).as("the configured intermediate still signs before activation").isEqualTo(first);
        bundle.initialize(signer.certificate());
        rotation = open();
        assertThat(rotation.state().phase()).isEqualTo(RotationPhase.PUBLISHED);
        assertThat(bundle.current().authorityBySerial(new BigInteger(next.replace(":", ""), 16)))
                .as("the new CA is still published").isPresent();
        assertThat(rotation.publish().publishedSequence()).isEqualTo(sequence);

        everyPeerHoldsTheCurrentBundle();
        clock.advance(AGENT_REFRESH);
        rotation.activate(false);
        // Killed again after activation: the next start signs with the new CA, not the configured one.
        RotationState activated = new RotationStore(dir.resolve("rotation")).load();
        assertThat(Certificates.serialHex(IntermediateRotation.signerAtStart(new RotationStore(dir.resolve("rotation")),
                activated, first).certificate())).isEqualTo(next);
    }

    @Test
    void aSubmittedIntermediateRotatesByItselfOnceEveryPeerHoldsIt() throws Exception {
        CaCredential next = pki.intermediate(A.name());
        rotation.submit(next, true);
        assertThat(rotation.state().phase()).isEqualTo(RotationPhase.SIGNED);
        rotation.tick();
        assertThat(rotation.state().phase()).as("published by the clock").isEqualTo(RotationPhase.PUBLISHED);
        peers.holds("west", Optional.empty());
        clock.advance(AGENT_REFRESH);
        rotation.tick();
        assertThat(rotation.state().phase()).as("not activated while west does not answer").isEqualTo(RotationPhase.PUBLISHED);
        assertThat(rotation.view().lastError()).hasValueSatisfying(e -> assertThat(e).contains("west"));
        everyPeerHoldsTheCurrentBundle();
        rotation.tick();
        assertThat(rotation.state().phase()).isEqualTo(RotationPhase.ACTIVATED);
        assertThat(ca.current()).isEqualTo(next);
        clock.advance(RETIRE_AFTER.plus(SKEW));
        rotation.tick();
        assertThat(rotation.state().phase()).isEqualTo(RotationPhase.RETIRED);
        assertThatThrownBy(() -> rotation.submit(first, true)).as("a retired intermediate cannot come back")
                .isInstanceOfSatisfying(RotationException.class,
                        e -> assertThat(e.getMessage()).contains("retired"));
    }

    @Test
    void abortWithdrawsAPublishedCaAndForgetsItsKey() throws Exception {
        rotation.sign(List.of(rootSigns(rotation.prepare(), A, Duration.ofDays(30))));
        rotation.publish();
        assertThat(bundle.current().x509Authorities()).hasSize(2);
        assertThat(rotation.abort().phase()).isEqualTo(RotationPhase.IDLE);
        assertThat(bundle.current().x509Authorities()).containsExactly(first.certificate());
        assertThat(Files.exists(dir.resolve("rotation/next.key"))).isFalse();
        assertThat(rotation.prepare()).as("a new rotation can start").startsWith("-----BEGIN CERTIFICATE REQUEST-----");
    }

    @Test
    void warnsWhenTheIntermediateHasLittleLifeLeft() {
        assertThat(rotation.view().expiryWarning()).isEmpty();
        clock.advance(Duration.ofDays(25));
        assertThat(rotation.view().activeRemaining()).isLessThan(0.2);
        assertThat(rotation.view().expiryWarning()).hasValueSatisfying(w -> assertThat(w)
                .contains(Certificates.serialHex(first.certificate())).contains("isthmus rotate intermediate"));
    }

    /** Every file under the data directory with its SHA-256: "the trust state on disk". */
    private Map<String, String> onDisk() throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                out.put(dir.relativize(f).toString(), HexFormat.of().formatHex(
                        sha256(Files.readAllBytes(f))));
            }
        }
        return out;
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
