package io.isthmus.trust.rotation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.CaFactory;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.federation.PeerConfig;
import io.isthmus.trust.federation.SyncListener;
import io.isthmus.trust.federation.SyncSettings;
import io.isthmus.trust.reload.CaFiles;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.runtime.TrustSettings;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.SvidRejection;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Pem;

/**
 * Three gateways' trust planes in one JVM, each with its own data directory, a real bundle and trust-status endpoint
 * on loopback, and its CA files in a Kubernetes-style Secret directory ({@code ..data} symlink swapped on update).
 * Proves, over real TLS: a rotation waits for the peers' own reports (and names the one that is down), every
 * gateway verifies the new CA's SVIDs before it signs, retirement revokes the old one everywhere; a Secret update of
 * the intermediate rotates by itself; and a whole root rotation (new root added hot, each intermediate moved onto it,
 * old root removed) happens without a restart, the old root's removal refused while a CA still needs it.
 */
class RotationFederationTest {
    private static final Duration REFRESH = Duration.ofSeconds(1);
    private static final Duration RETIRE_AFTER = Duration.ofSeconds(2);
    private static final List<String> NAMES = List.of("a", "b", "c");

    @TempDir
    Path dataRoot;

    private final TestCa pki = TestCa.create();
    private final Map<String, Integer> ports = new LinkedHashMap<>();
    private final Map<String, TrustRuntime> gateways = new LinkedHashMap<>();
    private final Map<String, CaCredential> configured = new LinkedHashMap<>();

    private static TrustDomain td(String name) {
        return new TrustDomain(name + ".acme.internal");
    }

    /** The Secret directory of {@code name}: files behind {@code ..data}, as the kubelet projects them. */
    private Path secret(String name) {
        return dataRoot.resolve("secrets").resolve(name);
    }

    /** Writes a new version of a Secret and swaps {@code ..data} to it in one rename, as the kubelet does. */
    private void updateSecret(String name, List<X509Certificate> roots, CaCredential intermediate) throws IOException {
        Path dir = secret(name);
        Path version = dir.resolve("..v" + System.nanoTime());
        Files.createDirectories(version);
        Files.writeString(version.resolve("root.pem"), Pem.write(roots.toArray()));
        Files.writeString(version.resolve("intermediate.key"), Pem.writePrivateKey(intermediate.key()));
        Files.writeString(version.resolve("intermediate.pem"), Pem.write(intermediate.chain().toArray()));
        Path tmp = dir.resolve("..data_tmp");
        Files.deleteIfExists(tmp);
        Files.createSymbolicLink(tmp, version.getFileName());
        Files.move(tmp, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        for (String f : List.of("root.pem", "intermediate.key", "intermediate.pem")) {
            if (!Files.isSymbolicLink(dir.resolve(f))) {
                Files.createSymbolicLink(dir.resolve(f), Path.of("..data").resolve(f));
            }
        }
    }

    private TrustSettings settings(String name, CaCredential intermediate) {
        List<PeerConfig> peers = new ArrayList<>();
        for (String other : NAMES) {
            if (!other.equals(name)) {
                peers.add(new PeerConfig("cluster-" + other, td(other),
                        URI.create("https://127.0.0.1:" + ports.get(other) + "/"), Optional.empty()));
            }
        }
        SyncSettings sync = new SyncSettings(REFRESH, Duration.ofMillis(200), Duration.ofMinutes(1),
                Duration.ofMillis(200), Duration.ofSeconds(2), 3);
        Path s = secret(name);
        return new TrustSettings(td(name), pki.roots(), intermediate,
                SpiffeId.ofServiceAccount(td(name), "isthmus-system", "isthmus-gateway"), dataRoot.resolve(name),
                new InetSocketAddress("127.0.0.1", ports.get(name)), REFRESH, Duration.ofMinutes(1),
                Duration.ofSeconds(1), peers, sync,
                new RotationSettings(RETIRE_AFTER, Duration.ofMillis(200), Duration.ofSeconds(2), Duration.ofMillis(200), 0.2),
                Optional.of(new CaFiles(s.resolve("root.pem"), s.resolve("intermediate.key"), s.resolve("intermediate.pem"),
                        Duration.ofMillis(200))));
    }

    private void startAll() throws IOException {
        for (String name : NAMES) {
            ports.put(name, FreePorts.next());
        }
        for (String name : NAMES) {
            CaCredential intermediate = pki.intermediate(td(name).name());
            configured.put(name, intermediate);
            updateSecret(name, List.of(pki.rootCertificate()), intermediate);
            gateways.put(name, TrustRuntime.start(settings(name, intermediate), Clock.systemUTC(), new SyncListener() { }));
        }
        // Generous: three gateways fetch each other's bundles on a 2-core machine shared with other builds.
        await().atMost(Duration.ofSeconds(45)).untilAsserted(() -> {
            for (TrustRuntime g : gateways.values()) {
                assertThat(g.store().snapshot().trustDomains()).hasSize(3);
            }
        });
    }

    @AfterEach
    void stop() {
        gateways.values().forEach(TrustRuntime::close);
    }

    /** The root signs the CSR {@code gateway} prepared. */
    private List<X509Certificate> signed(CaCredential root, String gateway) {
        String csr = gateways.get(gateway).rotation().prepare();
        return List.of(new CaFactory(Clock.systemUTC()).issueIntermediateCertificate(root, td(gateway),
                SvidIssuer.verifiedKey(csr.getBytes(StandardCharsets.US_ASCII)), Duration.ofDays(30)));
    }

    private void awaitEveryPeerHoldsTheNewCa(String gateway) {
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                .until(() -> gateways.get(gateway).rotation().checkPeers().complete());
    }

    private X509Svid workload(String gateway) {
        return gateways.get(gateway).ca().issue(SpiffeId.parse("spiffe://" + td(gateway).name() + "/ns/shop/sa/w"),
                Duration.ofMinutes(5));
    }

    @Test
    void rotatesAnIntermediateOnlyOnceEveryPeerReportsHoldingIt() throws Exception {
        startAll();
        TrustRuntime a = gateways.get("a");
        X509Svid signedByOld = workload("a");
        a.rotation().sign(signed(pki.root(), "a"));
        a.rotation().publish();

        // c is down: the check asks c itself, and activation names it (once b has fetched the new bundle).
        gateways.remove("c").close();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                .until(() -> a.rotation().checkPeers().missing().keySet(), missing -> missing.equals(java.util.Set.of("cluster-c")));
        assertThatThrownBy(() -> a.rotation().activate(false)).isInstanceOfSatisfying(RotationException.class, e -> {
            assertThat(e.refusal()).isEqualTo(RotationRefusal.PEERS_LACK_CA);
            assertThat(e.getMessage()).contains("cluster-c: no status").doesNotContain("cluster-b:");
        });
        assertThat(a.rotation().state().phase()).isEqualTo(RotationPhase.PUBLISHED);

        gateways.put("c", TrustRuntime.start(settings("c", configured.get("c")), Clock.systemUTC(),
                new SyncListener() { }));
        awaitEveryPeerHoldsTheNewCa("a");
        a.rotation().activate(false);
        X509Certificate next = a.ca().current().certificate();
        assertThat(a.current().chain().get(1)).as("the gateway's own SVID is reissued by the new CA").isEqualTo(next);
        X509Svid signedByNew = workload("a");
        for (String peer : List.of("b", "c")) {
            assertThat(gateways.get(peer).verifier().verify(signedByNew.chain()).verified()).as(peer).isTrue();
            assertThat(gateways.get(peer).verifier().verify(signedByOld.chain()).verified()).as(peer).isTrue();
        }
        // Retired by a's clock once what the old CA signed has expired; then revoked everywhere.
        await().atMost(Duration.ofSeconds(10)).until(() -> a.rotation().state().phase() == RotationPhase.RETIRED);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            for (String peer : List.of("b", "c")) {
                assertThat(gateways.get(peer).verifier().verify(signedByOld.chain())).as(peer)
                        .isInstanceOfSatisfying(SvidVerdict.Rejected.class, r -> assertThat(r.reason())
                                .isIn(SvidRejection.SIGNER_NOT_IN_BUNDLE, SvidRejection.EXPIRED));
            }
        });
        assertThat(gateways.get("b").status().bundles().get(td("a")).x509Serials())
                .containsExactly(Certificates.serialHex(next));
    }

    @Test
    void aSecretUpdateOfTheIntermediateRotatesByItself() throws Exception {
        startAll();
        TrustRuntime b = gateways.get("b");
        CaCredential next = pki.intermediate(td("b").name());
        updateSecret("b", List.of(pki.rootCertificate()), next);
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100))
                .until(() -> b.rotation().state().phase() == RotationPhase.RETIRED);
        assertThat(b.ca().current()).isEqualTo(next);
        assertThat(b.rotation().view().reached()).containsKeys(RotationPhase.SIGNED, RotationPhase.PUBLISHED,
                RotationPhase.ACTIVATED, RotationPhase.RETIRED);
        for (String peer : List.of("a", "c")) {
            assertThat(gateways.get(peer).verifier().verify(workload("b").chain()).verified()).as(peer).isTrue();
        }
    }

    @Test
    void aRestartWithTheNextIntermediateInItsSecretKeepsSigningWithTheOldUntilEveryPeerHoldsTheNew() throws Exception {
        startAll();
        CaCredential old = configured.get("b");
        // Terraform switched b's Secret while b was down (or b restarted between the switch and the activation);
        // c is down, so no activation may happen.
        gateways.remove("c").close();
        gateways.remove("b").close();
        CaCredential next = pki.intermediate(td("b").name());
        updateSecret("b", List.of(pki.rootCertificate()), next);
        TrustRuntime b = TrustRuntime.start(settings("b", next), Clock.systemUTC(), new SyncListener() { });
        gateways.put("b", b);
        assertThat(b.ca().current()).as("the signer no peer holds yet must not sign").isEqualTo(old);
        assertThat(b.current().chain().get(1)).isEqualTo(old.certificate());
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                .until(() -> b.rotation().state().phase() == RotationPhase.PUBLISHED);
        assertThat(b.rotation().checkPeers().missing()).containsKey("cluster-c");
        assertThat(b.ca().current()).isEqualTo(old);

        gateways.put("c", TrustRuntime.start(settings("c", configured.get("c")), Clock.systemUTC(),
                new SyncListener() { }));
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
                .until(() -> b.rotation().state().phase() == RotationPhase.RETIRED);
        assertThat(b.ca().current()).isEqualTo(next);
    }

    @Test
    void rotatesTheRootWithoutARestart() throws Exception {
        startAll();
        TestCa next = TestCa.create();
        List<X509Certificate> both = List.of(pki.rootCertificate(), next.rootCertificate());
        // 1. The new root is added to every gateway's root file (the Secret), and applies hot.
        for (String name : NAMES) {
            updateSecret(name, both, gateways.get(name).ca().current());
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            for (TrustRuntime g : gateways.values()) {
                assertThat(g.roots().certificates()).containsExactlyElementsOf(both);
            }
        });
        // 2. Each cluster rotates its intermediate onto the new root.
        for (String name : NAMES) {
            TrustRuntime g = gateways.get(name);
            g.rotation().sign(signed(next.root(), name));
            g.rotation().publish();
        }
        TrustRuntime a = gateways.get("a");
        FederationRoots onlyNew = new FederationRoots(List.of(next.rootCertificate()));
        for (String name : NAMES) {
            awaitEveryPeerHoldsTheNewCa(name);
            gateways.get(name).rotation().activate(false);
            if (name.equals("a")) {
                // 3. The old root cannot go while a's old intermediate (under it) is still in a's bundle (it retires
                // RETIRE_AFTER + skew after activation)...
                assertThatThrownBy(() -> a.replaceRoots(onlyNew)).isInstanceOfSatisfying(RotationException.class,
                        e -> assertThat(e.refusal()).isEqualTo(RotationRefusal.ROOT_STILL_NEEDED));
                assertThat(a.roots().certificates()).hasSize(2);
            }
        }
        // ... and goes once every rotation retired its old intermediate.
        await().atMost(Duration.ofSeconds(10)).until(() -> gateways.values().stream()
                .allMatch(g -> g.rotation().state().phase() == RotationPhase.RETIRED));
        for (String name : NAMES) {
            updateSecret(name, List.of(next.rootCertificate()), gateways.get(name).ca().current());
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            for (TrustRuntime g : gateways.values()) {
                assertThat(g.roots().certificates()).containsExactly(next.rootCertificate());
            }
        });
        for (String verifier : NAMES) {
            for (String signer : NAMES) {
                assertThat(gateways.get(verifier).verifier().verify(workload(signer).chain()).verified())
                        .as("%s verifies %s under the new root alone", verifier, signer).isTrue();
            }
        }
        X509Svid underOldRoot = TestCa.svid(pki.intermediate(td("a").name()), "spiffe://a.acme.internal/ns/x/sa/y");
        assertThat(gateways.get("b").verifier().verify(underOldRoot.chain()).verified()).isFalse();
    }

    /** The hook a membership change uses: roots and peers in one step; a removed peer's SVIDs stop verifying. */
    @Test
    void aMembershipChangeRemovesAPeerInOneStep() throws Exception {
        startAll();
        TrustRuntime a = gateways.get("a");
        X509Svid ofC = workload("c");
        assertThat(a.verifier().verify(ofC.chain()).verified()).isTrue();
        List<io.isthmus.trust.runtime.TrustSnapshot> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        a.addListener(seen::add);
        List<PeerConfig> withoutC = settings("a", configured.get("a")).peers().stream()
                .filter(p -> !p.trustDomain().equals(td("c"))).toList();
        a.applyMembership(pki.roots(), withoutC);
        assertThat(a.verifier().verify(ofC.chain())).isInstanceOfSatisfying(SvidVerdict.Rejected.class,
                r -> assertThat(r.reason()).isEqualTo(SvidRejection.NO_BUNDLE_FOR_TRUST_DOMAIN));
        assertThat(a.sync().status()).doesNotContainKey(td("c"));
        assertThat(seen).last().satisfies(s -> assertThat(s.bundles().bundleFor(td("c"))).isEmpty());
        assertThat(a.verifier().verify(workload("b").chain()).verified()).isTrue();
    }
}
