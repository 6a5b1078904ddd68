package io.isthmus.gateway.jwt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.infinispan.manager.EmbeddedCacheManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import io.isthmus.gateway.enrolment.TestReplicas;
import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.federation.LocalBundle;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.testing.TestCa;

/**
 * Two gateway replicas of one cluster (real embedded Infinispan over JGroups TCP on loopback) share their public JWT
 * keys through {@code isthmus-jwt-replica-keys}. They are cut apart (a partition, or an attacker who drops their
 * JGroups traffic); on one side replica a withdraws a key from its ring (what a retirement does: the key's tokens have
 * expired, and it may be the key an attacker stole). When the partition heals, no replica may go on publishing the
 * withdrawn key in the cluster's bundle.
 *
 * <p>Before the fix the cache kept Infinispan's default merge policy (none: each side kept its own copies), so replica
 * c kept a's copy from before the cut and published the withdrawn key until a's next refresh (a third of
 * {@code isthmus.jwt.replica-lease}: 20 s by default, here 3 min 20 s), and every peer that fetched the bundle from c
 * meanwhile trusted it until its own next poll.
 */
@Tag("slow") // a cut and healed partition (about 15 s): bin/test -Dslow and CI run it
class ReplicaKeysSplitBrainTest {
    private static final TrustDomain A = new TrustDomain("a.test");
    private static final TestCa PKI = TestCa.create();
    /** Long, so that no refresh rewrites an entry during the test: only the merge can. */
    private static final Duration LEASE = Duration.ofMinutes(10);

    private final List<Replica> replicas = new ArrayList<>();

    private record Replica(String name, EmbeddedCacheManager manager, LocalBundle bundle, ReplicaKeyDirectory directory) {
        Set<String> publishedKids() {
            Set<String> kids = new TreeSet<>();
            bundle.current().jwtAuthorities().forEach(k -> kids.add(k.keyId()));
            return kids;
        }

        void stop() {
            directory.close();
            manager.stop();
        }
    }

    @AfterEach
    void stop() {
        replicas.forEach(Replica::stop);
    }

    private static JwtAuthority key(String kid) throws Exception {
        KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
        ec.initialize(256);
        return new JwtAuthority(kid, ec.generateKeyPair().getPublic());
    }

    @Test
    void aKeyWithdrawnDuringAPartitionIsPublishedByNoReplicaAfterTheHeal() throws Exception {
        InetAddress lo = InetAddress.getLoopbackAddress();
        List<InetSocketAddress> all = List.of(new InetSocketAddress(lo, FreePorts.next()),
                new InetSocketAddress(lo, FreePorts.next()));
        TestReplicaChannel files = new TestReplicaChannel("jwt-keys-split", 0, PKI);
        String cluster = "jwt-keys-split-" + all.get(0).getPort();
        Replica a = start(files, cluster, "a", all.get(0), all);
        Replica c = start(files, cluster, "c", all.get(1), all);
        TestReplicaChannel.awaitView(a.manager, c.manager);

        JwtAuthority old = key("a-old");
        JwtAuthority next = key("a-next");
        a.directory.announce(List.of(old, next));
        c.directory.announce(List.of(key("c-1")));
        await("both replicas publish every key").atMost(Duration.ofSeconds(15)).until(() -> replicas.stream()
                .allMatch(r -> r.publishedKids().equals(Set.of("a-next", "a-old", "c-1"))));

        TestReplicas.cut(a.manager);
        TestReplicas.cut(c.manager);
        await("cut apart").atMost(Duration.ofSeconds(30)).until(() -> a.manager.getMembers().size() == 1
                && c.manager.getMembers().size() == 1);
        // a's ring withdraws its old key (a retirement); only a's side sees it.
        a.directory.announce(List.of(next));
        assertThat(a.publishedKids()).containsExactly("a-next", "c-1");

        TestReplicas.heal(a.manager);
        TestReplicas.heal(c.manager);
        await("healed").atMost(Duration.ofSeconds(60)).until(() -> replicas.stream().allMatch(r -> r.manager
                .getMembers().size() == 2));
        await("no replica publishes a's withdrawn key, after the merge").atMost(Duration.ofSeconds(15))
                .pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
                    for (Replica r : replicas) {
                        assertThat(r.publishedKids()).as("JWT keys replica %s publishes in the cluster's bundle (its"
                                + " copy of a's entry: %s)", r.name, r.manager.getCache(ReplicaKeyDirectory.CACHE).get("a"))
                                .containsExactly("a-next", "c-1");
                    }
                });
    }

    private Replica start(TestReplicaChannel files, String cluster, String name, InetSocketAddress bind,
            List<InetSocketAddress> members) throws Exception {
        EmbeddedCacheManager m = TestReplicas.startPartitionable(
                new TestReplicas.Membership(cluster, name, bind, members));
        LocalBundle bundle = files.bundle(name, A);
        ReplicaKeyDirectory d = new ReplicaKeyDirectory(m, A, bundle, Clock.systemUTC(), LEASE, Duration.ofSeconds(1));
        Replica r = new Replica(name, m, bundle, d);
        replicas.add(r);
        return r;
    }
}
