package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.jgroups.Address;
import org.jgroups.JChannel;
import org.jgroups.protocols.DISCARD;
import org.jgroups.protocols.FD_ALL3;
import org.jgroups.protocols.TP;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.stack.ProtocolStack;
import org.jgroups.util.Util;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.isthmus.registry.testing.TestFederation;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;

/**
 * The fault: a replica's failure detector stops watching the other replica (a view that reached FD_ALL3 out of order,
 * RacingViewsTest, or any fault of its own) and the link between them is then cut. That replica keeps the other in its
 * view, so its majority, the join-token cache's degraded mode and the VMs' cut-off grace never end or start: it renews
 * a VM revoked on the other side for as long as the partition lasts. Real channels of {@link ChannelFactory} on
 * loopback; the failure detector is switched off with its own management operation, the cut is a DISCARD of
 * everything on the other replica, as silent as an iptables DROP.
 */
class SilentMemberWatchdogTest {
    private static final String CLUSTER = "isthmus-cluster-a";
    private static final TrustDomain DOMAIN = new TrustDomain("cluster-a.example");
    /** Failure detection within 2.5 s, the watchdog's silence 5 s; MERGE3's first round only after 10 s. */
    private static final ChannelFactory.Timing TIMING = new ChannelFactory.Timing(2_000, 500, 500, 500, 10_000, 20_000,
            500, 3_000);
    private static final Duration SILENCE = Duration.ofMillis(2 * (TIMING.failureTimeoutMillis()
            + TIMING.verifySuspectMillis()));

    @Test
    void aReplicaWhoseFailureDetectorWatchesNobodyStillDropsTheReplicaItNoLongerHears() throws Exception {
        try (Pair pair = Pair.connect()) {
            FD_ALL3 fd = pair.first.getProtocolStack().findProtocol(FD_ALL3.class);
            fd.stopFailureDetection();
            DISCARD cut = new DISCARD().discardAll(true);
            cut.setAddress(pair.second.getAddress());
            pair.second.getProtocolStack().insertProtocol(cut, ProtocolStack.Position.ABOVE, TP.class);

            GMS gms = pair.first.getProtocolStack().findProtocol(GMS.class);
            await("the replica drops the one it no longer hears").atMost(SILENCE.multipliedBy(3))
                    .pollInterval(Duration.ofMillis(100)).untilAsserted(() -> assertThat(gms.view().getMembers())
                            .as("its membership (its failure detector running: %s)", fd.isRunning())
                            .containsExactly(pair.first.getAddress()));
            assertThat(pair.watchdog(pair.first).suspected()).isEqualTo(1);
        }
    }

    @Test
    void aMemberThatStillSpeaksIsNotSuspectedWhenTheFailureDetectorIsOff() throws Exception {
        try (Pair pair = Pair.connect()) {
            FD_ALL3 fd = pair.first.getProtocolStack().findProtocol(FD_ALL3.class);
            fd.stopFailureDetection();
            // The other replica's heartbeats keep coming; nothing else is sent.
            Thread.sleep(SILENCE.multipliedBy(2).toMillis());
            GMS gms = pair.first.getProtocolStack().findProtocol(GMS.class);
            assertThat(gms.view().getMembers()).containsExactly(pair.first.getAddress(), pair.second.getAddress());
            assertThat(pair.watchdog(pair.first).suspected()).isZero();
        }
    }

    @Test
    void theLocalClustersStackHasTheWatchdogRightAboveTheTransport() throws Exception {
        try (Pair pair = Pair.connect()) {
            List<org.jgroups.stack.Protocol> protocols = pair.first.getProtocolStack().getProtocols();
            // getProtocols() lists the top first.
            assertThat(protocols.get(protocols.size() - 2)).isInstanceOf(SilentMemberWatchdog.class);
        }
    }

    @Test
    void silenceAndIntervalMustBePositive() {
        assertThatThrownBy(() -> new SilentMemberWatchdog(0, 1_000)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("must be positive");
        assertThatThrownBy(() -> new SilentMemberWatchdog(1_000, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            everyone heard just now                          | 1000 | 1000 | 1000 | 1000 |
            b silent for exactly the silence                 | 1000 | 1000 |  500 | 1000 |
            b silent for longer                               | 1000 | 1000 |  499 | 1000 | b
            b and c silent                                   | 1000 | 1000 |  100 |  200 | b c
            self silent is never suspected                   | 1000 |    0 | 1000 | 1000 |
            c never heard: not watched yet                   | 1000 | 1000 | 1000 |   -1 |
            b long silent, c never heard                     | 1000 | 1000 |    0 |   -1 | b
            """)
    void theSilentMembersAreTheOthersNotHeardWithinTheSilence(String name, long now, long selfHeard, long bHeard,
            long cHeard, String expected) {
        Address self = Util.createRandomAddress("a");
        Address b = Util.createRandomAddress("b");
        Address c = Util.createRandomAddress("c");
        Map<Address, Long> heard = new HashMap<>();
        heard.put(self, selfHeard);
        heard.put(b, bHeard);
        if (cHeard >= 0) {
            heard.put(c, cHeard);
        }
        Map<String, Address> byName = Map.of("b", b, "c", c);
        List<Address> want = expected == null ? List.of()
                : java.util.Arrays.stream(expected.split(" ")).map(byName::get).toList();
        assertThat(SilentMemberWatchdog.silent(List.of(self, b, c), self, heard, now, 500)).isEqualTo(want);
    }

    /** Two replicas of one cluster, connected; the first created it. */
    private static final class Pair implements AutoCloseable {
        final ChannelFactory firstFactory;
        final ChannelFactory secondFactory;
        final JChannel first;
        final JChannel second;

        private Pair(ChannelFactory firstFactory, ChannelFactory secondFactory, JChannel first, JChannel second) {
            this.firstFactory = firstFactory;
            this.secondFactory = secondFactory;
            this.first = first;
            this.second = second;
        }

        static Pair connect() throws Exception {
            int firstPort = FreePorts.next();
            ChannelFactory firstFactory = factory(firstPort, List.of());
            ChannelFactory secondFactory = factory(FreePorts.next(),
                    List.of(new InetSocketAddress(TestFederation.HOST, firstPort)));
            JChannel first = firstFactory.createLocalChannel();
            JChannel second = secondFactory.createLocalChannel();
            first.connect(CLUSTER);
            second.connect(CLUSTER);
            await("both replicas in one view").atMost(10, TimeUnit.SECONDS)
                    .until(() -> first.getView().size() == 2 && second.getView().size() == 2);
            return new Pair(firstFactory, secondFactory, first, second);
        }

        SilentMemberWatchdog watchdog(JChannel channel) {
            return channel.getProtocolStack().findProtocol(SilentMemberWatchdog.class);
        }

        @Override
        public void close() {
            Util.close(second, first);
            firstFactory.close();
            secondFactory.close();
        }
    }

    private static ChannelFactory factory(int localPort, List<InetSocketAddress> members) {
        SiteSettings settings = new SiteSettings("cluster-a", DOMAIN, TestFederation.HOST, localPort, members,
                FreePorts.next(), Map.of());
        return new ChannelFactory(settings, null, null, TIMING);
    }
}
