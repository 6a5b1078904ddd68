package io.isthmus.gateway.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import org.infinispan.Cache;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.notifications.Listener;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryCreated;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryModified;
import org.infinispan.notifications.cachelistener.event.CacheEntryEvent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.isthmus.gateway.jwt.rotation.JwtRotationRecord;
import io.isthmus.gateway.jwt.rotation.ReplicaRotation;
import io.isthmus.gateway.jwt.rotation.RotationChannel;
import io.isthmus.gateway.jwt.rotation.SignedRotationRecord;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.jwt.JwtKeyReadiness;
import io.isthmus.trust.jwt.JwtKeyRing;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.testing.TestCa;

/**
 * Gateway replicas of one cluster (real embedded Infinispan nodes over JGroups TCP on loopback, each with its own
 * key ring on disk): a rotation step asked of one replica is applied by every replica to its own key, a replica
 * that starts later catches up, and a record written to the channel by a gateway of another trust domain (or by a
 * workload of ours) rotates nothing.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterJwtRotationTest {
    private static final TrustDomain A = new TrustDomain("a.test");
    private static final TrustDomain B = new TrustDomain("b.test");
    private static final SpiffeId GATEWAY_A = SpiffeId.parse("spiffe://a.test/ns/isthmus-system/sa/gateway");
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final TestCa PKI = TestCa.create();
    private static final CaCredential CA_A = PKI.intermediate(A.name());
    private static final CaCredential CA_B = PKI.intermediate(B.name());
    private static final X509SvidVerifier VERIFIER = new X509SvidVerifier(PKI.roots(), td -> BundleSet.of(List.of(
            new TrustBundle(A, List.of(CA_A.certificate()), List.of(), 1, Optional.empty()),
            new TrustBundle(B, List.of(CA_B.certificate()), List.of(), 1, Optional.empty()))).bundleFor(td),
            Clock.systemUTC(), Duration.ofSeconds(30));
    private static TestReplicaChannel channel;
    private static Replica one;
    private static Replica two;

    /** One replica: its cache manager, its ring in its own directory, and the cluster rotation it runs. */
    private record Replica(EmbeddedCacheManager manager, ReplicaKeyDirectory directory, ReplicaKeyRing keys,
            ClusterJwtRotation rotation) {

        static Replica start(String name, int member) throws Exception {
            return start(name, member, Duration.ofSeconds(30));
        }

        /** @param skew the clock difference this replica tolerates (also past its signers' SVID expiry) */
        static Replica start(String name, int member, Duration skew) throws Exception {
            // No federated peers: every key may sign at once (readiness across peers is JwtKeyReadinessTest's).
            return start(name, member, skew, kid -> new JwtKeyReadiness.Verdict.Ready(JwtKeyReadiness.Why.NO_PEERS),
                    WAIT);
        }

        /**
         * @param readiness whether a kid may sign yet, as this replica sees the peers
         * @param wait how long an admin step waits for every replica to apply it
         */
        static Replica start(String name, int member, Duration skew,
                Function<String, JwtKeyReadiness.Verdict> readiness, Duration wait) throws Exception {
            EmbeddedCacheManager m = channel.join(name, member);
            ReplicaKeyDirectory d = new ReplicaKeyDirectory(m, A, channel.bundle(name, A), Clock.systemUTC(),
                    Duration.ofMinutes(1), Duration.ofMinutes(5));
            ReplicaKeyRing keys = new ReplicaKeyRing(channel.dir(name).resolve("jwt"), d, Clock.systemUTC(),
                    Duration.ofMinutes(5));
            X509Svid svid = TestCa.svid(CA_A, GATEWAY_A.toString());
            ClusterJwtRotation r = new ClusterJwtRotation(keys, readiness, new ClusterJwtRotation.Identity(A,
                    GATEWAY_A, () -> svid, VERIFIER, skew), m, wait, Clock.systemUTC());
            return new Replica(m, d, keys, r);
        }

        JwtKeyRing ring() {
            return keys.ring();
        }

        void stop() {
            rotation.stop();
            directory.close();
            manager.stop();
        }
    }

    @BeforeAll
    static void startTwoReplicas() throws Exception {
        channel = new TestReplicaChannel("jwt-rotation", 4, PKI);
        one = Replica.start("one", 0);
        two = Replica.start("two", 1);
        TestReplicaChannel.awaitView(one.manager, two.manager);
        await().atMost(Duration.ofSeconds(30)).until(() -> one.keys.replicaRotations().size() == 2
                && two.keys.replicaRotations().size() == 2);
    }

    @AfterAll
    static void stop() {
        for (Replica r : new Replica[] {two, one}) {
            if (r != null) {
                r.stop();
            }
        }
    }

    @Test
    @Order(1)
    void aStepAskedOfOneReplicaIsAppliedByEveryReplicaOnItsOwnKey() throws Exception {
        String active1 = one.ring().active().keyId();
        String active2 = two.ring().active().keyId();
        ClusterJwtRotation.StepResult prepared = one.rotation.take(JwtRotationRecord.Step.PREPARE, Optional.empty(),
                "test-admin");
        assertThat(prepared.complete()).as("%s", prepared.replicas()).isTrue();
        assertThat(prepared.replicas()).hasSize(2);
        String next1 = one.ring().next().orElseThrow().keyId();
        String next2 = two.ring().next().orElseThrow(() -> new AssertionError("two prepared no key of its own"))
                .keyId();
        assertThat(next2).isNotEqualTo(next1);

        // The next step, asked of the other replica.
        ClusterJwtRotation.StepResult activated = two.rotation.take(JwtRotationRecord.Step.ACTIVATE, Optional.empty(),
                "test-admin");
        assertThat(activated.complete()).as("%s", activated.replicas()).isTrue();
        assertThat(activated.record().generation()).isEqualTo(prepared.record().generation() + 1);
        assertThat(one.ring().active().keyId()).isEqualTo(next1);
        assertThat(two.ring().active().keyId()).isEqualTo(next2);
        assertThat(one.ring().retiring()).extracting(r -> r.authority().keyId()).containsExactly(active1);
        assertThat(two.ring().retiring()).extracting(r -> r.authority().keyId()).containsExactly(active2);
        // The same step asked again is out of order, not a second rotation.
        assertThat(catchThrowable(() -> one.rotation.take(
                JwtRotationRecord.Step.ACTIVATE, Optional.empty(), "test-admin")))
                .isInstanceOf(ClusterJwtRotation.Refused.class).hasMessageContaining("no jwt key is prepared");
    }

    /**
     * The attacker is on the replica channel: a gateway of b.test (its SVID verifies, b.test is federated) and a
     * workload of a.test each write a record there, signed with their own SVIDs, that would make every replica
     * prepare a key. Neither replica moves; a genuine step afterwards still goes through.
     */
    @Test
    @Order(2)
    void aRecordWrittenByAnotherTrustDomainsGatewayOrAWorkloadRotatesNothing() throws Exception {
        // A bare member of the channel: it runs no rotation of its own, it only writes.
        EmbeddedCacheManager intruder = channel.join("intruder", 2);
        RotationChannel written = new RotationChannel(intruder, () -> { });
        try {
            long applied1 = one.keys.progress().applied();
            long applied2 = two.keys.progress().applied();
            X509Svid gatewayB = TestCa.svid(CA_B, "spiffe://b.test/ns/isthmus-system/sa/gateway");
            X509Svid workloadA = TestCa.svid(CA_A, "spiffe://a.test/ns/shop/sa/web");
            for (X509Svid forger : List.of(gatewayB, workloadA)) {
                String forged = SignedRotationRecord.sign(new JwtRotationRecord(A, 99, JwtRotationRecord.Step.PREPARE,
                        99, "attacker", Instant.now(), "intruder"), forger);
                assertThat(written.write(written.read(), forged)).isTrue();
                await().atMost(Duration.ofSeconds(10)).until(() -> one.manager.getCache("isthmus-jwt-rotation")
                        .get("step").equals(forged) && two.manager.getCache("isthmus-jwt-rotation").get("step")
                                .equals(forged));
                // Applied every half second if admitted: watch for a few ticks that nothing moves.
                await().pollInterval(Duration.ofMillis(100)).during(Duration.ofMillis(1500))
                        .atMost(Duration.ofSeconds(5)).until(() -> one.ring().next().isEmpty()
                                && two.ring().next().isEmpty() && one.keys.progress().applied() == applied1
                                && two.keys.progress().applied() == applied2);
            }
            // The genuine next step replaces the forged record and is applied by both.
            ClusterJwtRotation.StepResult prepared = two.rotation.take(JwtRotationRecord.Step.PREPARE,
                    Optional.empty(), "test-admin");
            assertThat(prepared.record().generation()).isEqualTo(Math.max(applied1, applied2) + 1);
            assertThat(one.ring().next()).isPresent();
            assertThat(two.ring().next()).isPresent();
        } finally {
            written.close();
            intruder.stop();
        }
    }

    @Test
    @Order(3)
    void aReplicaThatStartsAfterAStepCatchesUpOnItsOwnKey() throws Exception {
        if (one.ring().next().isEmpty()) {
            one.rotation.take(JwtRotationRecord.Step.PREPARE, Optional.empty(), "test-admin");
        }
        Replica late = Replica.start("late", 3);
        try {
            long recorded = one.rotation.current().orElseThrow().generation();
            await().atMost(Duration.ofSeconds(30)).until(() -> late.ring().next().isPresent());
            // Until the replica asked sees the late one's entry say so, an activate is refused as a step in progress.
            String name = late.directory.replicaName();
            await().atMost(Duration.ofSeconds(30)).until(() -> one.keys.replicaRotations().getOrDefault(name,
                    Optional.empty()).map(r -> r.applied() >= recorded).orElse(false));
            ClusterJwtRotation.StepResult activated = one.rotation.take(JwtRotationRecord.Step.ACTIVATE,
                    Optional.empty(), "test-admin");
            assertThat(activated.complete()).as("%s", activated.replicas()).isTrue();
            assertThat(activated.replicas()).hasSize(3);
            assertThat(late.ring().next()).isEmpty();
            assertThat(late.ring().retiring()).hasSize(1);
        } finally {
            late.stop();
        }
    }

    /**
     * The attacker keeps a genuine record of this cluster's gateway and writes it back once its signer's SVID has
     * expired (a replay: it cannot be told from the step it once was). Neither replica applies it. A replica that was
     * away while a step was recorded, and comes back after that step's signer expired, refuses it for the same reason;
     * asking for the step again at any replica records it again, signed now, and the late replica applies it.
     */
    @Test
    @Order(4)
    void aRecordWhoseSignerExpiredIsNotAppliedUntilTheStepIsAskedAgain() throws Exception {
        EmbeddedCacheManager replayer = channel.join("replayer", 2);
        RotationChannel written = new RotationChannel(replayer, () -> { });
        Replica late = null;
        try {
            long applied = Math.max(one.keys.progress().applied(), two.keys.progress().applied());
            X509Svid hourOld = new SvidIssuer(Clock.offset(Clock.systemUTC(), Duration.ofHours(-2))).issue(CA_A,
                    GATEWAY_A, Duration.ofHours(1));
            String replayed = SignedRotationRecord.sign(new JwtRotationRecord(A, applied + 1,
                    JwtRotationRecord.Step.PREPARE, applied + 1, "test-admin", Instant.now().minus(Duration.ofMinutes(90)),
                    "one"), hourOld);
            writeAndAwait(written, replayed);
            await().pollInterval(Duration.ofMillis(100)).during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5))
                    .until(() -> one.ring().next().isEmpty() && two.ring().next().isEmpty()
                            && one.keys.progress().applied() == applied && two.keys.progress().applied() == applied);

            // A genuine step, signed by an SVID that lives 3 s: both replicas apply it while it is valid.
            X509Svid shortLived = new SvidIssuer(Clock.systemUTC()).issue(CA_A, GATEWAY_A, Duration.ofSeconds(3));
            writeAndAwait(written, SignedRotationRecord.sign(new JwtRotationRecord(A, applied + 1,
                    JwtRotationRecord.Step.PREPARE, applied + 1, "test-admin", Instant.now(), "one"), shortLived));
            await().atMost(Duration.ofSeconds(10)).until(() -> one.ring().next().isPresent()
                    && two.ring().next().isPresent());
            // A replica that starts once that SVID has expired (1 s of tolerated skew here) refuses the record.
            await().atMost(Duration.ofSeconds(10)).until(() -> Instant.now().isAfter(
                    shortLived.notAfter().plusSeconds(2)));
            late = Replica.start("late-expired", 3, Duration.ofSeconds(1));
            Replica lateReplica = late;
            String lateName = late.directory.replicaName();
            await().atMost(Duration.ofSeconds(30)).until(() -> one.keys.replicaRotations().getOrDefault(lateName,
                    Optional.empty()).isPresent());
            await().pollInterval(Duration.ofMillis(100)).during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5))
                    .until(() -> lateReplica.ring().next().isEmpty());

            ClusterJwtRotation.StepResult again = one.rotation.take(JwtRotationRecord.Step.PREPARE, Optional.empty(),
                    "test-admin");
            assertThat(again.record().generation()).as("the same step, not a new one").isEqualTo(applied + 1);
            assertThat(again.complete()).as("%s", again.replicas()).isTrue();
            assertThat(late.ring().next()).as("the late replica prepared its own key").isPresent();
        } finally {
            if (late != null) {
                late.stop();
            }
            written.close();
            replayer.stop();
        }
    }

    /**
     * The CLI polls {@code activate} (or a POST is retried) while one replica waits for its new key to be federated:
     * every ask is answered from the record held (same generation, not complete), and the replica channel takes one
     * write for the step, not one per ask. Once the waiting replica's key is federated it applies the step.
     */
    @Test
    @Order(5)
    void askingAgainForAStepAReplicaStillAppliesWritesNothing() throws Exception {
        if (one.ring().next().isEmpty()) {
            one.rotation.take(JwtRotationRecord.Step.PREPARE, Optional.empty(), "test-admin");
        }
        AtomicBoolean federated = new AtomicBoolean();
        Replica held = null;
        Replica poller = null;
        WriteCounter writes = new WriteCounter();
        Cache<String, String> seen = one.manager.getCache("isthmus-jwt-rotation");
        try {
            // "held" sees no peer confirm its new key yet; "poller" answers admin calls without waiting.
            held = Replica.start("held", 2, Duration.ofSeconds(30), kid -> federated.get()
                    ? new JwtKeyReadiness.Verdict.Ready(JwtKeyReadiness.Why.CONFIRMED_BY_EVERY_PEER)
                    : new JwtKeyReadiness.Verdict.NotYet(kid, List.of(B), Instant.now().plusSeconds(300)),
                    Duration.ZERO);
            poller = Replica.start("poller", 3, Duration.ofSeconds(30),
                    kid -> new JwtKeyReadiness.Verdict.Ready(JwtKeyReadiness.Why.NO_PEERS), Duration.ZERO);
            long prepared = one.rotation.current().orElseThrow().generation();
            Replica heldReplica = held;
            Replica asked = poller;
            // Until the poller sees all four replicas hold the prepared step, activate is refused, not recorded.
            await().atMost(Duration.ofSeconds(30)).until(() -> asked.keys.replicaRotations().size() == 4
                    && asked.keys.replicaRotations().values().stream().allMatch(r -> r.isPresent()
                            && r.get().applied() >= prepared && r.get().next().isPresent()));
            seen.addListener(writes);

            ClusterJwtRotation.StepResult first = poller.rotation.take(JwtRotationRecord.Step.ACTIVATE,
                    Optional.empty(), "cli");
            assertThat(first.record().generation()).isEqualTo(prepared + 1);
            String heldName = held.directory.replicaName();
            await().atMost(Duration.ofSeconds(30)).until(() -> one.keys.replicaRotations().getOrDefault(heldName,
                    Optional.empty()).flatMap(ReplicaRotation::pending).isPresent());
            int asks = 10;
            List<ClusterJwtRotation.StepResult> answers = new ArrayList<>();
            for (int i = 0; i < asks; i++) {
                answers.add(poller.rotation.take(JwtRotationRecord.Step.ACTIVATE, Optional.empty(), "cli"));
            }
            // The cache is REPL_SYNC and the counter a sync listener: a write has reached "one" when take returns.
            assertThat(writes.count()).as("writes on the replica channel for 1 step asked %d more times", asks)
                    .isEqualTo(1);
            assertThat(answers).as("answered from the record held").allSatisfy(a -> {
                assertThat(a.record()).isEqualTo(first.record());
                assertThat(a.complete()).isFalse();
            });

            federated.set(true);
            await().atMost(Duration.ofSeconds(30)).until(() -> heldReplica.ring().next().isEmpty()
                    && heldReplica.keys.progress().applied() == prepared + 1);
            assertThat(writes.count()).isEqualTo(1);
        } finally {
            seen.removeListener(writes);
            for (Replica r : new Replica[] {poller, held}) {
                if (r != null) {
                    r.stop();
                }
            }
        }
    }

    /** Counts the writes of the rotation record this node receives (its own and every other replica's). */
    @Listener(sync = true)
    public static final class WriteCounter {
        private final AtomicInteger writes = new AtomicInteger();

        @CacheEntryCreated
        @CacheEntryModified
        public void written(CacheEntryEvent<String, String> event) {
            if (!event.isPre()) {
                writes.incrementAndGet();
            }
        }

        int count() {
            return writes.get();
        }
    }

    private void writeAndAwait(RotationChannel written, String record) throws Exception {
        assertThat(written.write(written.read(), record)).isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> one.manager.getCache("isthmus-jwt-rotation").get("step")
                .equals(record) && two.manager.getCache("isthmus-jwt-rotation").get("step").equals(record));
    }
}
