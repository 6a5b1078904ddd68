package io.isthmus.gateway.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import org.infinispan.manager.EmbeddedCacheManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import io.isthmus.gateway.enrolment.TestReplicas;
import io.isthmus.gateway.jwt.rotation.JwtRotationRecord;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.federation.LocalBundle;
import io.isthmus.trust.jwt.JwtKeyReadiness;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.testing.TestCa;

/**
 * Three gateway replicas of one cluster (real embedded Infinispan over JGroups TCP on loopback, each with its own key
 * ring on disk) rotate their JWT keys; then one replica (c) is cut off from the other two (a partition, or an attacker
 * who drops the replicas' JGroups traffic). The majority side retires the old keys; the cut-off replica is asked for a
 * step of its own (an admin, or a script through the load balancer). When the partition heals, a key the cluster
 * retired must be published by no replica.
 *
 * <p>Before the fix the rotation record's cache took writes on both sides and Infinispan kept one side's copy at the
 * merge: the cut-off replica recorded a step of the same generation as the retire, so after the merge one side took
 * the other's record for one it had applied already, and replica c went on publishing its retired key in the
 * cluster's bundle (every replica publishes the union of the replicas' keys), federation-wide.
 */
@Tag("slow") // fault runs (cut and healed partitions, 13-20 s each): bin/test -Dslow and CI run them
class JwtRotationSplitBrainTest {
    private static final TrustDomain A = new TrustDomain("a.test");
    private static final SpiffeId GATEWAY_A = SpiffeId.parse("spiffe://a.test/ns/isthmus-system/sa/gateway");
    /** The longest JWT-SVID lifetime: a retiring key may be retired this long after the activate. */
    private static final Duration JWT_TTL = Duration.ofSeconds(1);
    private static final TestCa PKI = TestCa.create();
    private static final CaCredential CA_A = PKI.intermediate(A.name());
    private static final X509SvidVerifier VERIFIER = new X509SvidVerifier(PKI.roots(), td -> BundleSet.of(List.of(
            new TrustBundle(A, List.of(CA_A.certificate()), List.of(), 1, Optional.empty()))).bundleFor(td),
            Clock.systemUTC(), Duration.ofSeconds(30));

    private final List<Replica> replicas = new ArrayList<>();

    private record Replica(String name, EmbeddedCacheManager manager, LocalBundle bundle, ReplicaKeyDirectory directory,
            ReplicaKeyRing keys, ClusterJwtRotation rotation) {
        Set<String> publishedKids() {
            Set<String> kids = new TreeSet<>();
            bundle.current().jwtAuthorities().forEach(k -> kids.add(k.keyId()));
            return kids;
        }

        void stop() {
            rotation.stop();
            directory.close();
            manager.stop();
        }
    }

    @AfterEach
    void stop() {
        replicas.forEach(Replica::stop);
    }

    @Test
    void aRetirementOnTheMajoritySideIsNotUndoneByAReplicaThatWasCutOff() throws Exception {
        InetAddress lo = InetAddress.getLoopbackAddress();
        List<InetSocketAddress> all = List.of(new InetSocketAddress(lo, FreePorts.next()),
                new InetSocketAddress(lo, FreePorts.next()), new InetSocketAddress(lo, FreePorts.next()));
        TestReplicaChannel files = new TestReplicaChannel("jwt-split", 0, PKI);
        String cluster = "jwt-split-" + all.get(0).getPort();
        Replica a = start(files, cluster, "a", all.get(0), all);
        Replica b = start(files, cluster, "b", all.get(1), all);
        Replica c = start(files, cluster, "c", all.get(2), all);
        await().atMost(Duration.ofSeconds(30)).until(() -> replicas.stream().allMatch(r ->
                r.manager.getMembers().size() == 3 && r.keys.replicaRotations().size() == 3));

        // A rotation everywhere: every replica's first key is now retiring, still published.
        assertThat(a.rotation.take(JwtRotationRecord.Step.PREPARE, Optional.empty(), "admin").complete()).isTrue();
        awaitEveryReplicaSeesEveryOtherAt(a.rotation.current().orElseThrow().generation());
        assertThat(a.rotation.take(JwtRotationRecord.Step.ACTIVATE, Optional.empty(), "admin").complete()).isTrue();
        long activated = a.rotation.current().orElseThrow().generation();
        awaitEveryReplicaSeesEveryOtherAt(activated);
        Map<String, String> retiring = new LinkedHashMap<>();
        Instant due = Instant.EPOCH;
        for (Replica r : replicas) {
            var x = r.keys.ring().retiring();
            assertThat(x).as("replica %s's old key is retiring", r.name).hasSize(1);
            retiring.put(r.name, x.get(0).authority().keyId());
            due = x.get(0).until().isAfter(due) ? x.get(0).until() : due;
        }
        Instant retireAfter = due;
        await().atMost(Duration.ofSeconds(10)).until(() -> Instant.now().isAfter(retireAfter.plusMillis(200)));

        // Cut replica c off from a and b.
        TestReplicas.cut(c.manager);
        await().atMost(Duration.ofSeconds(30)).until(() -> a.manager.getMembers().size() == 2
                && b.manager.getMembers().size() == 2 && c.manager.getMembers().size() == 1);

        // On the cut-off replica an admin (or a script through the load balancer) asks for the next step.
        Object onC = outcome(() -> c.rotation.take(JwtRotationRecord.Step.PREPARE, Optional.empty(), "admin-at-c")
                .record());
        // The majority retires the old keys: gone from a's and b's rings and from the bundle they publish.
        ClusterJwtRotation.StepResult retired = a.rotation.take(JwtRotationRecord.Step.RETIRE, Optional.empty(),
                "admin");
        assertThat(retired.record().step()).isEqualTo(JwtRotationRecord.Step.RETIRE);
        await().atMost(Duration.ofSeconds(10)).until(() -> a.keys.ring().retiring().isEmpty()
                && b.keys.ring().retiring().isEmpty());

        // Heal the partition.
        TestReplicas.heal(c.manager);
        await().atMost(Duration.ofSeconds(60)).until(() -> replicas.stream().allMatch(r -> r.manager.getMembers()
                .size() == 3));
        await("no replica publishes a key the cluster retired, after the merge").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
                    for (Replica r : replicas) {
                        assertThat(r.publishedKids()).as("JWT keys replica %s publishes in the cluster's bundle "
                                + "(retired: %s; the step asked at c during the partition: %s)", r.name, retiring, onC)
                                .doesNotContainAnyElementsOf(retiring.values());
                        assertThat(r.keys.ring().retiring()).as("replica %s's retiring keys", r.name).isEmpty();
                    }
                });
        assertThat(onC).as("a step asked of the replica cut off from the majority").asString()
                .startsWith("refused: ");
    }

    @Test
    void twoReplicasCutApartNeverUndoARetirement() throws Exception {
        InetAddress lo = InetAddress.getLoopbackAddress();
        List<InetSocketAddress> all = List.of(new InetSocketAddress(lo, FreePorts.next()),
                new InetSocketAddress(lo, FreePorts.next()));
        TestReplicaChannel files = new TestReplicaChannel("jwt-split2", 0, PKI);
        String cluster = "jwt-split2-" + all.get(0).getPort();
        Replica a = start(files, cluster, "a", all.get(0), all);
        Replica c = start(files, cluster, "c", all.get(1), all);
        await().atMost(Duration.ofSeconds(30)).until(() -> replicas.stream().allMatch(r ->
                r.manager.getMembers().size() == 2 && r.keys.replicaRotations().size() == 2));
        assertThat(a.rotation.take(JwtRotationRecord.Step.PREPARE, Optional.empty(), "admin").complete()).isTrue();
        awaitEveryReplicaSeesEveryOtherAt(a.rotation.current().orElseThrow().generation());
        assertThat(a.rotation.take(JwtRotationRecord.Step.ACTIVATE, Optional.empty(), "admin").complete()).isTrue();
        awaitEveryReplicaSeesEveryOtherAt(a.rotation.current().orElseThrow().generation());
        Map<String, String> retiring = new LinkedHashMap<>();
        for (Replica r : replicas) {
            retiring.put(r.name, r.keys.ring().retiring().get(0).authority().keyId());
        }
        Thread.sleep(JWT_TTL.toMillis() + 500);
        TestReplicas.cut(a.manager);
        TestReplicas.cut(c.manager);
        await().atMost(Duration.ofSeconds(30)).until(() -> a.manager.getMembers().size() == 1
                && c.manager.getMembers().size() == 1);
        // Neither side has a majority of the two replicas: a retire asked of either is refused, not recorded (before
        // the fix it was recorded on a, and the merge kept c's older record: c never retired its key).
        Object duringPartition = outcome(() -> a.rotation.take(JwtRotationRecord.Step.RETIRE, Optional.empty(),
                "admin").record());
        TestReplicas.heal(a.manager);
        TestReplicas.heal(c.manager);
        await().atMost(Duration.ofSeconds(60)).until(() -> replicas.stream().allMatch(r -> r.manager.getMembers()
                .size() == 2));
        if (duringPartition instanceof String refused) {
            assertThat(refused).contains("ReadOnlyException").contains("not a majority of the cluster's replicas");
            // Asked again once the replicas see each other, it is recorded and applied by both.
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> a.rotation.take(
                    JwtRotationRecord.Step.RETIRE, Optional.empty(), "admin").complete());
        }
        await("no replica publishes a key the cluster retired, after the merge").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
                    for (Replica r : replicas) {
                        assertThat(r.publishedKids()).as("JWT keys replica %s publishes (retired: %s; record: %s)",
                                r.name, retiring, r.manager.getCache("isthmus-jwt-rotation").get("step") == null ? "none"
                                        : r.rotation.current()).doesNotContainAnyElementsOf(retiring.values());
                    }
                });
    }

    private void awaitEveryReplicaSeesEveryOtherAt(long generation) {
        await().atMost(Duration.ofSeconds(30)).until(() -> replicas.stream().allMatch(r -> r.keys.replicaRotations()
                .values().stream().allMatch(x -> x.isPresent() && x.get().applied() >= generation)));
    }

    private static Object outcome(java.util.concurrent.Callable<Object> action) {
        try {
            return action.call();
        } catch (Exception e) {
            return "refused: " + e;
        }
    }

    private Replica start(TestReplicaChannel files, String cluster, String name, InetSocketAddress bind,
            List<InetSocketAddress> members) throws Exception {
        EmbeddedCacheManager m = TestReplicas.startPartitionable(
                new TestReplicas.Membership(cluster, name, bind, members));
        LocalBundle bundle = files.bundle(name, A);
        ReplicaKeyDirectory d = new ReplicaKeyDirectory(m, A, bundle, Clock.systemUTC(), Duration.ofMinutes(1), JWT_TTL);
        ReplicaKeyRing keys = new ReplicaKeyRing(files.dir(name).resolve("jwt"), d, Clock.systemUTC(), JWT_TTL);
        X509Svid svid = TestCa.svid(CA_A, GATEWAY_A.toString());
        ClusterJwtRotation rotation = new ClusterJwtRotation(keys,
                kid -> new JwtKeyReadiness.Verdict.Ready(JwtKeyReadiness.Why.NO_PEERS),
                new ClusterJwtRotation.Identity(A, GATEWAY_A, () -> svid, VERIFIER, Duration.ofSeconds(30)), m,
                Duration.ofSeconds(2), Clock.systemUTC());
        Replica r = new Replica(name, m, bundle, d, keys, rotation);
        replicas.add(r);
        return r;
    }
}
