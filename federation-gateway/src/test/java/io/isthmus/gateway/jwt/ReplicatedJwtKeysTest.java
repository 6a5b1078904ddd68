package io.isthmus.gateway.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.infinispan.manager.EmbeddedCacheManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.isthmus.gateway.jwt.rotation.ReplicaRotation;
import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.federation.LocalBundle;
import io.isthmus.trust.jwt.JwtKeyRing;
import io.isthmus.trust.jwt.JwtRejection;
import io.isthmus.trust.jwt.JwtSigningKey;
import io.isthmus.trust.jwt.JwtSvid;
import io.isthmus.trust.jwt.JwtSvidSigner;
import io.isthmus.trust.jwt.JwtSvidValidator;
import io.isthmus.trust.jwt.JwtVerdict;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.TestCa;

/**
 * Gateway replicas of one cluster (real embedded Infinispan nodes over JGroups TCP on loopback, each with its own
 * key ring and local bundle): a JWT-SVID signed by any replica verifies with the bundle every replica serves, and
 * a replica that dies keeps its key published until its last token has expired, then no longer.
 */
class ReplicatedJwtKeysTest {
    private static final TrustDomain TD = new TrustDomain("a.test");
    private static final SpiffeId WORKLOAD = SpiffeId.ofServiceAccount(TD, "shop", "web");
    /** Refreshed every third of this: a refresh thread starved for over a lease on a loaded machine is needed to fail. */
    private static final Duration LEASE = Duration.ofSeconds(2);
    /** Long enough that stopping a cache manager (a JGroups leave, over a second under load) leaves time to watch. */
    private static final Duration TTL = Duration.ofSeconds(6);
    private static final TestCa PKI = TestCa.create();
    private static TestReplicaChannel channel;
    private static Replica one;
    private static Replica two;

    /** One gateway replica: its cache manager, its own ring (private key never leaves it), its local bundle. */
    private record Replica(EmbeddedCacheManager manager, JwtKeyRing ring, LocalBundle bundle,
            ReplicaKeyDirectory directory) {

        static Replica start(String name, int member) throws Exception {
            return start(name, member, TD);
        }

        static Replica start(String name, int member, TrustDomain td) throws Exception {
            EmbeddedCacheManager m = channel.join(name, member);
            LocalBundle bundle = channel.bundle(name, td);
            ReplicaKeyDirectory d = new ReplicaKeyDirectory(m, td, bundle, Clock.systemUTC(), LEASE, TTL);
            JwtKeyRing ring = JwtKeyRing.of(JwtSigningKey.generate());
            d.announce(ring.published());
            return new Replica(m, ring, bundle, d);
        }

        JwtSvid sign() {
            return JwtSvidSigner.sign(ring.active(), WORKLOAD, List.of("billing"), Instant.now(), TTL);
        }

        /** The bundle as this replica's bundle endpoint serves it: serialized by the codec and parsed back. */
        TrustBundle served() {
            BundleCodec codec = new BundleCodec();
            return codec.parse(TD, codec.toJson(bundle.current()).getBytes(StandardCharsets.UTF_8), "replica").bundle();
        }

        JwtVerdict validate(JwtSvid token) {
            TrustBundle b = served();
            return JwtSvidValidator.validate(token.token(), "billing", td -> td.equals(TD) ? Optional.of(b)
                    : Optional.empty(), Instant.now());
        }

        List<String> kids() {
            return served().jwtAuthorities().stream().map(JwtAuthority::keyId).toList();
        }

        void stop() {
            directory.close();
            manager.stop();
        }
    }

    @BeforeAll
    static void startTwoReplicas() throws Exception {
        channel = new TestReplicaChannel("jwt-replicas", 4, PKI);
        one = Replica.start("one", 0);
        two = Replica.start("two", 1);
        TestReplicaChannel.awaitView(one.manager, two.manager);
    }

    @AfterAll
    static void stop() {
        for (Replica r : new Replica[] {two, one}) {
            if (r != null) {
                r.stop();
            }
        }
    }

    /**
     * Where a replica stands in the rotation is read as the replicated cache holds it: once one replica's announce
     * returned, the other sees it at once (an admin step asked there next must not find it still applying the last).
     */
    @Test
    void aReplicasRotationProgressIsSeenByTheOtherAsSoonAsItsAnnounceReturns() throws Exception {
        String name = one.directory.replicaName();
        String active = one.ring.active().keyId();
        for (long n = 1; n <= 20; n++) {
            long applied = n;
            one.directory.announce(one.ring.published(),
                    Optional.of(new ReplicaRotation(applied, active, Optional.empty(), List.of(), Optional.empty())));
            assertThat(two.directory.liveRotations().get(name)).as("two's view of one after announce %d", applied)
                    .hasValueSatisfying(r -> assertThat(r.applied()).isEqualTo(applied));
        }
    }

    @Test
    void aTokenSignedByEitherReplicaVerifiesWithTheBundleOfTheOther() {
        String k1 = one.ring.active().keyId();
        String k2 = two.ring.active().keyId();
        await().atMost(Duration.ofSeconds(20)).until(() -> one.kids().contains(k2) && two.kids().contains(k1));
        // Both replicas serve the same keys in the same order, whichever one a peer or an agent asks.
        assertThat(one.kids()).isEqualTo(two.kids()).containsExactlyInAnyOrder(k1, k2).isSorted();

        JwtSvid fromOne = one.sign();
        JwtSvid fromTwo = two.sign();
        assertThat(two.validate(fromOne)).isInstanceOfSatisfying(JwtVerdict.Valid.class, v -> {
            assertThat(v.keyId()).isEqualTo(k1);
            assertThat(v.svid().id()).isEqualTo(WORKLOAD);
        });
        assertThat(one.validate(fromTwo)).isInstanceOfSatisfying(JwtVerdict.Valid.class,
                v -> assertThat(v.keyId()).isEqualTo(k2));
    }

    @Test
    void aCrashedReplicasKeyStaysUntilItsLastTokenExpiredThenLeaves() throws Exception {
        Replica three = Replica.start("three", 2);
        try {
            String k3 = three.ring.active().keyId();
            await().atMost(Duration.ofSeconds(30)).until(() -> one.kids().contains(k3) && two.kids().contains(k3));
            // Its last token, signed just before it dies without a word to the others.
            JwtSvid last = three.sign();
            three.directory.abandon();
            three.manager.stop();

            // Until the token expires, the survivors still verify it: checked every 100 ms until a second before (the
            // margin covers a slow poll on a loaded machine; the condition must hold throughout).
            Duration live = Duration.between(Instant.now(), last.expiry()).minusSeconds(1);
            assertThat(live).as("time left to watch the token").isGreaterThan(Duration.ofSeconds(1));
            await().pollInterval(Duration.ofMillis(100)).during(live).atMost(live.plusSeconds(5))
                    .until(() -> one.validate(last) instanceof JwtVerdict.Valid
                            && two.validate(last) instanceof JwtVerdict.Valid);
            // Then the key leaves both bundles: at most a lease (and a refresh period) after that expiry.
            await().atMost(LEASE.plus(TTL).plusSeconds(10)).until(() -> !one.kids().contains(k3)
                    && !two.kids().contains(k3));
            assertThat(Instant.now()).isAfterOrEqualTo(last.expiry());
            assertThat(one.kids()).containsExactlyInAnyOrder(one.ring.active().keyId(), two.ring.active().keyId());
        } finally {
            if (three.manager.getStatus().allowInvocations()) {
                three.stop();
            }
        }
    }

    /**
     * A gateway of another trust domain (b.test) that joins this cluster's replica channel (a copied configuration,
     * or an intruder on the network) announces its key there: it never enters a.test's bundle, and a token it signs
     * for an a.test subject is refused as an unknown kid.
     */
    @Test
    void aKeyAnnouncedByAnotherTrustDomainsGatewayNeverEntersOurBundle() throws Exception {
        Replica intruder = Replica.start("intruder", 3, new TrustDomain("b.test"));
        try {
            String kid = intruder.ring.active().keyId();
            String name = intruder.directory.replicaName();
            await().atMost(Duration.ofSeconds(30)).until(() -> one.manager.getCache(ReplicaKeyDirectory.CACHE)
                    .containsKey(name) && two.manager.getCache(ReplicaKeyDirectory.CACHE).containsKey(name));
            // Its entry is in our cache; the merges it caused (and the refreshes after) must leave it out throughout.
            await().pollInterval(Duration.ofMillis(100)).during(LEASE).atMost(LEASE.plusSeconds(5))
                    .until(() -> !one.kids().contains(kid) && !two.kids().contains(kid));
            JwtSvid forged = intruder.sign();
            assertThat(one.validate(forged)).isInstanceOfSatisfying(JwtVerdict.Invalid.class,
                    v -> assertThat(v.reason()).isEqualTo(JwtRejection.UNKNOWN_KEY_ID));
        } finally {
            intruder.stop();
        }
    }
}
