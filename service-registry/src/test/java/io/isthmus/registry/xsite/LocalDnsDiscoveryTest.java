package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.jgroups.JChannel;
import org.jgroups.protocols.TCP;
import org.jgroups.protocols.TCPPING;
import org.jgroups.protocols.dns.DNS_PING;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.registry.testing.TestFederation;
import io.isthmus.registry.testing.TestFederation.Site;
import io.isthmus.registry.testing.TestHostsResolverProvider;
import io.isthmus.trust.testing.FreePorts;

/**
 * Discovery of a site's replicas by DNS (JGroups DNS_PING, A records), as a Kubernetes Deployment needs it: the
 * local stack carries DNS_PING with the query and dials the local port; static members and DNS are exclusive;
 * and two replicas that know nothing of each other but one DNS name form one local cluster over TLS.
 */
class LocalDnsDiscoveryTest {
    private static final String QUERY = "isthmus-gateway-replicas.isthmus-system.svc.cluster.local";
    private final TestFederation federation = new TestFederation(Clock.systemUTC(), "cluster-a");
    private final String replicasName = "replicas-" + System.nanoTime() + ".dns-ping.isthmus.test";

    @AfterEach
    void close() {
        federation.close();
        TestHostsResolverProvider.unregister(replicasName);
    }

    private SiteSettings withDns(String bindHost, int localPort, String query) {
        SiteSettings a = federation.settings("cluster-a");
        return new SiteSettings("cluster-a", a.trustDomain(), bindHost, localPort, List.of(), a.bridgePort(), a.peers(),
                Optional.of(query));
    }

    @Test
    void theLocalStackOfADnsQueryDiscoversWithDnsPingOnTheLocalPort() throws Exception {
        int localPort = FreePorts.next();
        ChannelFactory channels = new ChannelFactory(withDns(TestFederation.HOST, localPort, QUERY), null, null,
                ChannelFactory.Timing.FAST);
        try (JChannel ch = channels.createLocalChannel()) {
            DNS_PING dns = ch.getProtocolStack().findProtocol(DNS_PING.class);
            assertThat(dns).as("DNS_PING in the local stack").isNotNull();
            assertThat(dns.dnsQuery()).isEqualTo(QUERY);
            assertThat(dns.dnsRecordType()).isEqualTo("A");
            TCPPING tcpPing = ch.getProtocolStack().findProtocol(TCPPING.class);
            assertThat(tcpPing).isNull();
            // DNS_PING dials each A record at the transport's bind port plus its port range.
            TCP tcp = ch.getProtocolStack().findProtocol(TCP.class);
            assertThat(tcp.getBindPort()).isEqualTo(localPort);
            assertThat(tcp.getPortRange()).isZero();
        }
    }

    @Test
    void staticMembersKeepTcpPing() throws Exception {
        SiteSettings a = federation.settings("cluster-a");
        InetSocketAddress other = new InetSocketAddress(TestFederation.HOST, FreePorts.next());
        SiteSettings settings = new SiteSettings("cluster-a", a.trustDomain(), a.bindHost(), a.localPort(),
                List.of(other), a.bridgePort(), a.peers());
        try (JChannel ch = new ChannelFactory(settings, null, null, ChannelFactory.Timing.FAST).createLocalChannel()) {
            DNS_PING dns = ch.getProtocolStack().findProtocol(DNS_PING.class);
            assertThat(dns).isNull();
            TCPPING ping = ch.getProtocolStack().findProtocol(TCPPING.class);
            assertThat(ping.getInitialHosts()).extracting(h -> h.getPort()).containsExactly(other.getPort());
        }
    }

    @Test
    void aDnsQueryExcludesStaticMembersAPortOfZeroAndNonNames() {
        SiteSettings a = federation.settings("cluster-a");
        assertThatThrownBy(() -> new SiteSettings("cluster-a", a.trustDomain(), a.bindHost(), a.localPort(),
                List.of(new InetSocketAddress(TestFederation.HOST, 7800)), a.bridgePort(), a.peers(), Optional.of(QUERY)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("either by DNS ('" + QUERY + "') or from a static member list");
        assertThatThrownBy(() -> withDns(TestFederation.HOST, 0, QUERY)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the local port cannot be 0");
        for (String bad : List.of("", " ", "a..b", "-a.example", "a_b.example", "http://a.example", "a.example:7800")) {
            assertThatThrownBy(() -> withDns(TestFederation.HOST, 7800, bad)).as("query '%s'", bad)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is not a DNS name");
        }
        assertThat(withDns(TestFederation.HOST, 7800, QUERY + ".").localDnsQuery()).contains(QUERY + ".");
    }

    /**
     * A records carry no port, so two replicas on one host would need one port twice: impossible on one address.
     * Linux routes all of 127.0.0.0/8 to loopback, so the replicas bind 127.0.0.1 and 127.0.0.2 on the same port,
     * and the replicas' name resolves (through the JVM's resolver, as in a pod) to both addresses.
     */
    @Test
    void twoReplicasFindEachOtherByDnsAndFormOneLocalCluster() {
        InetAddress first = address("127.0.0.1");
        InetAddress second = address("127.0.0.2");
        // Linux guarantees it, so the test must run there; elsewhere (macOS, BSD) 127.0.0.2 may need an alias.
        if (System.getProperty("os.name").startsWith("Linux")) {
            assertThat(bindable(second)).as("127.0.0.2 is a loopback address on Linux").isTrue();
        } else {
            assumeThat(bindable(second)).as("127.0.0.2 is a loopback address here").isTrue();
        }
        int localPort = freeOnBoth(first, second);
        TestHostsResolverProvider.register(replicasName, List.of(first, second));

        SiteSettings base = federation.settings("cluster-a");
        Site a1 = federation.start("a1", withDns("127.0.0.1", localPort, replicasName), federation.svidOf("cluster-a"));
        SiteSettings onSecond = new SiteSettings("cluster-a", base.trustDomain(), "127.0.0.2", localPort, List.of(),
                FreePorts.next(), base.peers(), Optional.of(replicasName));
        Site a2 = federation.start("a2", onSecond, federation.svidOf("cluster-a"));
        await().atMost(Duration.ofSeconds(30)).until(() -> a1.node().cacheManager().getMembers().size() == 2
                && a2.node().cacheManager().getMembers().size() == 2);

        ExportedService e = a1.registry().export(new ExportSpec(new ServiceKey("cluster-a", "billing", "payments"),
                List.of(new ServicePort("http", 8080, Protocol.HTTP)), List.of(), 1));
        assertThat(a2.registry().get(e.key())).as("local replication is synchronous").contains(e);
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean bindable(InetAddress address) {
        try (ServerSocket s = new ServerSocket(0, 1, address)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int freeOnBoth(InetAddress first, InetAddress second) {
        for (int attempt = 0; attempt < 20; attempt++) {
            int port = FreePorts.next();
            try (ServerSocket s = new ServerSocket(port, 1, second)) {
                return port;
            } catch (IOException e) {
                // taken on the second address: try another
            }
        }
        throw new IllegalStateException("no port free on both " + first + " and " + second);
    }
}
