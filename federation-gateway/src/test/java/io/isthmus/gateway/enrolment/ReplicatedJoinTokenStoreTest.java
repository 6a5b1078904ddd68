package io.isthmus.gateway.enrolment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.remoting.transport.Transport;
import org.infinispan.remoting.transport.jgroups.JGroupsTransport;
import org.jgroups.blocks.cs.BaseServer;
import org.jgroups.blocks.cs.TcpConnection;
import org.jgroups.protocols.TCP;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;

/**
 * Two gateway replicas (embedded Infinispan nodes over JGroups TCP on loopback) share join tokens, identities and
 * the enrolment rate limit.
 */
class ReplicatedJoinTokenStoreTest {
    private static final SpiffeId VM = SpiffeId.ofServiceAccount(new TrustDomain("a.test"), "shop", "billing-vm");
    private static EmbeddedCacheManager nodeA;
    private static EmbeddedCacheManager nodeB;

    @BeforeAll
    static void startTwoReplicas() throws Exception {
        InetAddress lo = InetAddress.getLoopbackAddress();
        InetSocketAddress a = new InetSocketAddress(lo, FreePorts.next());
        InetSocketAddress b = new InetSocketAddress(lo, FreePorts.next());
        String cluster = "enrolment-test-" + a.getPort();
        nodeA = TestReplicas.start(new TestReplicas.Membership(cluster, "a", a, List.of(a, b)));
        nodeB = TestReplicas.start(new TestReplicas.Membership(cluster, "b", b, List.of(a, b)));
        await().atMost(Duration.ofSeconds(20)).until(() -> nodeA.getMembers().size() == 2 && nodeB.getMembers().size() == 2);
        // Our TCP stack on loopback, not Infinispan's default UDP multicast one.
        assertThat(nodeA.getCacheManagerInfo().getPhysicalAddresses()).contains("127.0.0.1:" + a.getPort());
        assertThat(nodeB.getCacheManagerInfo().getPhysicalAddresses()).contains("127.0.0.1:" + b.getPort());
    }

    @AfterAll
    static void stop() {
        if (nodeB != null) {
            nodeB.stop();
        }
        if (nodeA != null) {
            nodeA.stop();
        }
    }

    /**
     * Every write to these caches waits for the other replica's answer; with Nagle's algorithm on (JGroups' default)
     * each one waited for the peer's delayed ACK, about 44 ms. The sockets of both replicas' live connections must
     * have TCP_NODELAY.
     */
    @Test
    void replicasConnectWithoutNagleDelay() throws Exception {
        String cluster = "enrolment-test";
        ca(nodeA).put("nagle-probe", "a");
        ca(nodeB).put("nagle-probe", "b");
        List<java.net.Socket> sockets = new ArrayList<>();
        for (EmbeddedCacheManager node : List.of(nodeA, nodeB)) {
            JGroupsTransport transport = (JGroupsTransport) org.infinispan.factories.GlobalComponentRegistry
                    .componentOf(node, Transport.class);
            TCP tcp = (TCP) transport.getChannel().getProtocolStack().getTransport();
            assertThat(tcp.tcpNodelay()).as(cluster + " TCP tcp_nodelay").isTrue();
            var srv = TCP.class.getDeclaredField("srv");
            srv.setAccessible(true);
            var sock = TcpConnection.class.getDeclaredField("sock");
            sock.setAccessible(true);
            ((BaseServer) srv.get(tcp)).forAllConnections((addr, conn) -> {
                try {
                    sockets.add((java.net.Socket) sock.get(conn));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            });
        }
        assertThat(sockets).isNotEmpty();
        for (java.net.Socket s : sockets) {
            assertThat(s.getTcpNoDelay()).as("TCP_NODELAY on " + s).isTrue();
        }
    }

    /**
     * JGroups 5.5.1's default per-destination bundler spins for good once a member left with messages still queued
     * for it (JGRP-3008); two of them held both CPUs of a 2-CPU host and starved every other JGroups thread, so a
     * replica starting later waited for its cache topology for good (ClusterJwtRotationTest, after its intruder
     * member left). Both replicas run the transfer-queue bundler.
     */
    @Test
    void replicasDoNotRunTheBundlerThatSpinsAfterAMemberLeaves() {
        for (EmbeddedCacheManager node : List.of(nodeA, nodeB)) {
            JGroupsTransport transport = (JGroupsTransport) org.infinispan.factories.GlobalComponentRegistry
                    .componentOf(node, Transport.class);
            TCP tcp = (TCP) transport.getChannel().getProtocolStack().getTransport();
            assertThat(tcp.getBundler()).as("bundler of " + node.getAddress())
                    .isInstanceOf(org.jgroups.protocols.TransferQueueBundler.class);
        }
    }

    private static org.infinispan.Cache<Object, Object> ca(EmbeddedCacheManager node) {
        return node.getCache(InfinispanJoinTokenStore.CACHE);
    }

    private static JoinTokenStore store(EmbeddedCacheManager node) {
        return new InfinispanJoinTokenStore(node.getCache(InfinispanJoinTokenStore.CACHE));
    }

    private static JoinToken newToken(JoinTokenSecrets.Minted m, int maxUses) {
        Instant now = Instant.now();
        return new JoinToken(m.id(), VM, m.hash(), now, now.plus(Duration.ofMinutes(15)), maxUses, 0, false);
    }

    @Test
    void registrationEntriesSetOnOneReplicaAreServedAndDeletedOnTheOther() {
        var a = new io.isthmus.gateway.entries.RegistrationEntryStore(nodeA.getCache(EnrolmentCluster.REGISTRATION_ENTRIES_CACHE));
        var b = new io.isthmus.gateway.entries.RegistrationEntryStore(nodeB.getCache(EnrolmentCluster.REGISTRATION_ENTRIES_CACHE));
        var entry = new io.isthmus.trust.attest.RegistrationEntry(SpiffeId.parse(VM + "/billing"),
                new java.util.TreeSet<>(List.of(io.isthmus.trust.attest.Selector.parse("unix:uid:1000"))));
        a.set(VM, List.of(entry));
        assertThat(b.of(VM).toString()).isEqualTo("[{\"spiffeId\":\"" + VM + "/billing\",\"selectors\":[\"unix:uid:1000\"]}]");
        assertThat(b.delete(VM)).isTrue();
        assertThat(a.of(VM)).isEmpty();
    }

    @Test
    void aTokenCreatedOnOneReplicaIsUsableAndRevocableOnTheOther() {
        JoinTokenSecrets.Minted m = JoinTokenSecrets.mint();
        store(nodeA).create(newToken(m, 2));
        assertThat(store(nodeB).find(m.id())).hasValueSatisfying(t -> assertThat(t.identity()).isEqualTo(VM));
        assertThat(store(nodeB).consume(m.id(), m.secret(), Instant.now())).isInstanceOf(TokenVerdict.Accepted.class);
        store(nodeB).revoke(m.id());
        TokenVerdict second = store(nodeA).consume(m.id(), m.secret(), Instant.now());
        assertThat(second).isInstanceOfSatisfying(TokenVerdict.Rejected.class,
                r -> assertThat(r.reason()).isEqualTo(TokenRejection.REVOKED));
        assertThat(store(nodeA).list()).extracting(JoinToken::id).contains(m.id());
    }

    @Test
    void concurrentUsesOfAOneUseTokenOnBothReplicasYieldExactlyOneAcceptance() throws Exception {
        int rounds = 20;
        int threadsPerNode = 4;
        ExecutorService pool = Executors.newFixedThreadPool(threadsPerNode * 2);
        try {
            for (int round = 0; round < rounds; round++) {
                JoinTokenSecrets.Minted m = JoinTokenSecrets.mint();
                store(nodeA).create(newToken(m, 1));
                await().atMost(Duration.ofSeconds(5)).until(() -> store(nodeB).find(m.id()).isPresent());
                CountDownLatch start = new CountDownLatch(1);
                List<Future<TokenVerdict>> results = new ArrayList<>();
                for (int i = 0; i < threadsPerNode * 2; i++) {
                    JoinTokenStore s = store(i % 2 == 0 ? nodeA : nodeB);
                    Callable<TokenVerdict> use = () -> {
                        start.await();
                        return s.consume(m.id(), m.secret(), Instant.now());
                    };
                    results.add(pool.submit(use));
                }
                start.countDown();
                int accepted = 0;
                for (Future<TokenVerdict> f : results) {
                    TokenVerdict v = f.get();
                    if (v instanceof TokenVerdict.Accepted) {
                        accepted++;
                    } else {
                        assertThat(((TokenVerdict.Rejected) v).reason()).isEqualTo(TokenRejection.USED);
                    }
                }
                assertThat(accepted).as("acceptances in round " + round).isEqualTo(1);
                assertThat(store(nodeB).find(m.id()).orElseThrow().uses()).isEqualTo(1);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void revokedIdentitiesReplicateAndStayRevoked() {
        VmIdentityStore a = new InfinispanVmIdentityStore(nodeA.getCache(InfinispanVmIdentityStore.CACHE));
        VmIdentityStore b = new InfinispanVmIdentityStore(nodeB.getCache(InfinispanVmIdentityStore.CACHE));
        SpiffeId id = SpiffeId.ofServiceAccount(new TrustDomain("a.test"), "shop", "revoked-vm");
        a.enrolled(id, Instant.now());
        assertThat(b.find(id)).hasValueSatisfying(v -> assertThat(v.revoked()).isFalse());
        b.revoke(id, "decommissioned", Instant.now());
        a.enrolled(id, Instant.now());
        assertThat(a.find(id)).hasValueSatisfying(v -> {
            assertThat(v.revoked()).isTrue();
            assertThat(v.revokeReason()).contains("decommissioned");
        });
    }

    @Test
    void theRateLimitIsSharedAttemptsAlternatingOrRacingOverBothReplicasGetTheBurstOnceInTotal() throws Exception {
        RateLimiter.Limit limit = new RateLimiter.Limit(5, 1);
        SharedRateLimiter a = new SharedRateLimiter(nodeA.getCache(SharedRateLimiter.CACHE), limit, java.time.Clock.systemUTC());
        SharedRateLimiter b = new SharedRateLimiter(nodeB.getCache(SharedRateLimiter.CACHE), limit, java.time.Clock.systemUTC());
        List<SharedRateLimiter.Verdict> alternating = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            alternating.add((i % 2 == 0 ? a : b).tryAcquire("192.0.2.7"));
        }
        assertThat(alternating.subList(0, 5)).allMatch(v -> v instanceof SharedRateLimiter.Allowed);
        assertThat(alternating.subList(5, 10)).allSatisfy(v -> assertThat(v).isInstanceOfSatisfying(
                SharedRateLimiter.Limited.class, l -> assertThat(l.retryAfter()).isBetween(Duration.ofSeconds(50),
                        Duration.ofSeconds(60))));

        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<SharedRateLimiter.Verdict>> racing = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                SharedRateLimiter via = i % 2 == 0 ? a : b;
                racing.add(pool.submit(() -> {
                    start.await();
                    return via.tryAcquire("192.0.2.8");
                }));
            }
            start.countDown();
            int allowed = 0;
            for (Future<SharedRateLimiter.Verdict> f : racing) {
                SharedRateLimiter.Verdict v = f.get();
                assertThat(v).isNotInstanceOf(SharedRateLimiter.Unavailable.class);
                allowed += v instanceof SharedRateLimiter.Allowed ? 1 : 0;
            }
            assertThat(allowed).as("attempts allowed out of 16 racing over both replicas").isEqualTo(5);
        } finally {
            pool.shutdownNow();
        }
        // Another cluster (its own JGroups channel, as each cluster's replicas have) keeps its own limit.
        InetSocketAddress c = new InetSocketAddress(InetAddress.getLoopbackAddress(), FreePorts.next());
        EmbeddedCacheManager other = TestReplicas.start(new TestReplicas.Membership("enrolment-other-" + c.getPort(),
                "c", c, List.of(c)));
        try {
            assertThat(new SharedRateLimiter(other.getCache(SharedRateLimiter.CACHE), limit, java.time.Clock.systemUTC())
                    .tryAcquire("192.0.2.7")).isInstanceOf(SharedRateLimiter.Allowed.class);
        } finally {
            other.stop();
        }
    }

    @Test
    void aRateLimitThatCannotBeCheckedRefusesNamingTheCache() {
        InetSocketAddress c = new InetSocketAddress(InetAddress.getLoopbackAddress(), FreePorts.next());
        EmbeddedCacheManager stopped = TestReplicas.start(new TestReplicas.Membership("enrolment-stopped-"
                + c.getPort(), "s", c, List.of(c)));
        SharedRateLimiter limiter = new SharedRateLimiter(stopped.getCache(SharedRateLimiter.CACHE),
                new RateLimiter.Limit(5, 1), java.time.Clock.systemUTC());
        stopped.stop();
        assertThat(limiter.tryAcquire("192.0.2.9")).isInstanceOfSatisfying(SharedRateLimiter.Unavailable.class,
                u -> assertThat(u.detail()).contains(SharedRateLimiter.CACHE));
    }
}
