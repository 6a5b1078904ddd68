package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.logging.Level;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.proxy.authz.vouch.GatewayIdentities;
import io.isthmus.proxy.l4.TcpListenerSpec;
import io.isthmus.proxy.l4.TcpListeners;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.endpoint.ConnectionGate;
import io.isthmus.trust.endpoint.ConnectionLimits;
import io.isthmus.trust.testing.LogCapture;
import io.isthmus.trust.testing.TestCa;

/**
 * One client address floods a data-plane listener (b's ingress, which peer gateways and workloads with SVIDs reach;
 * a's egress, which local callers reach) with connections that cost the gateway a socket and, once TLS starts, an
 * engine and its buffers: TCP connections that never send a byte, and TLS handshakes stopped after a few bytes of the
 * ClientHello. Over real sockets on loopback, the attacker at its own 127.0.0.x address, the other callers at
 * 127.0.0.2 and (a's egress dialling b's ingress) 127.0.0.1. The gateway holds at most
 * {@code max-connections-per-client} of them (4 here) and closes the rest at accept; the others are still served, the
 * attacker is served again once it lets go, and the total ({@code max-connections}) bounds many addresses together.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ListenerConnectionFloodTest {
    private static final Duration BOUND = Duration.ofSeconds(5);
    private static final InetAddress OTHER_CALLER = address(2);
    /** The first bytes of a ClientHello (a record announcing 512 bytes, 10 of them), then nothing. */
    private static final byte[] HALF_CLIENT_HELLO = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, (byte) 0xfc, 0x03,
            0x03, 0, 0, 0, 0};

    private Federation fed;

    /** The connection gate's log: its warnings name the refused address and the setting. */
    private LogCapture gateLog;

    enum Flood {
        /** TCP connections that never send a byte. */
        IDLE,
        /** TLS handshakes stopped in the middle of the ClientHello. */
        HALF_HANDSHAKE
    }

    private List<String> warnings() {
        return gateLog.atLeast(Level.WARNING);
    }

    @BeforeAll
    void start() throws Exception {
        gateLog = LogCapture.of(ConnectionGate.class);
        // The handshake timeout (the header timeout, 6 s) outlasts each attack, so that what the gateway holds is
        // what its limit lets it hold, not what the timeout left.
        fed = Federation.start(limits(4, 64));
    }

    @AfterAll
    void stop() {
        gateLog.close();
        fed.close();
    }

    @BeforeEach
    void clear() {
        gateLog.clear();
    }

    static Stream<Arguments> floods() {
        return Stream.of(Arguments.of("ingress", Flood.IDLE, 66), Arguments.of("ingress", Flood.HALF_HANDSHAKE, 67),
                Arguments.of("egress", Flood.IDLE, 68), Arguments.of("egress", Flood.HALF_HANDSHAKE, 69));
    }

    @ParameterizedTest(name = "{1} connections to the {0}")
    @MethodSource("floods")
    void oneAddressHoldsAtMostItsLimitAndEveryoneElseIsServed(String listener, Flood kind, int last) throws Exception {
        InetAddress attacker = address(last);
        InetSocketAddress target = target(fed, listener);
        double refusedBefore = refused(fed, listener);

        List<Socket> flood = open(attacker, target, 40, kind);
        try {
            List<Socket> held = heldAfterRefusals(flood, 4);
            assertThat(held).as("connections from %s the %s still holds, of 40", attacker.getHostAddress(), listener)
                    .hasSize(4);
            assertThat(refused(fed, listener) - refusedBefore).as("refusals counted").isEqualTo(36);
            assertThat(warnings()).as("one warning for 36 refusals").singleElement().asString().contains(
                    "east-west " + listener, attacker.getHostAddress() + " holds 4 open connections",
                    "isthmus.proxy." + listener + ".max-connections-per-client=4");

            // While the attacker holds its four: others are served, the attacker's next connection is refused.
            assertThat(viaEgress(OTHER_CALLER)).as("a local caller at 127.0.0.2, through a's egress to b's ingress")
                    .isEqualTo(200);
            assertThat(direct(OTHER_CALLER)).as("a workload at 127.0.0.2 with its SVID, at b's ingress")
                    .isEqualTo(200);
            List<Socket> more = open(attacker, target, 1, kind);
            flood.addAll(more);
            assertThat(heldAfterRefusals(more, 0)).as("the attacker's next connection").isEmpty();
            assertThat(warnings()).as("still one warning (once a minute per address)").hasSize(1);
        } finally {
            for (Socket s : flood) {
                s.close();
            }
        }
        await("the attacker served again once it let go").atMost(BOUND).ignoreExceptions()
                .until(() -> (listener.equals("ingress") ? direct(attacker) : viaEgress(attacker)) == 200);
    }

    /** Addresses each under their own limit fill a listener: the connection over the total is refused, from anyone. */
    @Test
    void connectionsBeyondTheTotalAreRefused() throws Exception {
        try (Federation small = Federation.start(limits(4, 6))) {
            for (String listener : List.of("ingress", "egress")) {
                gateLog.clear();
                InetSocketAddress target = target(small, listener);
                List<Socket> flood = open(address(70), target, 4, Flood.IDLE);
                try {
                    assertThat(heldAfterRefusals(flood, 4)).hasSize(4);
                    List<Socket> second = open(address(71), target, 4, Flood.IDLE);
                    flood.addAll(second);
                    assertThat(heldAfterRefusals(second, 2)).as("of 4 from a second address, the %s holds", listener)
                            .hasSize(2);
                    assertThat(refused(small, listener)).isEqualTo(2);
                    assertThat(warnings()).singleElement().asString().contains("refused 127.0.0.71",
                            "the listener holds 6 open connections",
                            "isthmus.proxy." + listener + ".max-connections=6");
                    List<Socket> third = open(OTHER_CALLER, target, 1, Flood.IDLE);
                    flood.addAll(third);
                    assertThat(heldAfterRefusals(third, 0)).as("a third address while the %s is full", listener)
                            .isEmpty();
                } finally {
                    for (Socket s : flood) {
                        s.close();
                    }
                }
            }
            await("served again once the connections are gone").atMost(BOUND).ignoreExceptions()
                    .until(() -> directAt(small, OTHER_CALLER) == 200 && viaEgressAt(small, OTHER_CALLER) == 200);
        }
    }

    /**
     * The egress's per-service TCP listeners share one count with the egress's limits: an address flooding two of
     * them holds no more than its limit across both, and the refusals are counted under {@code egress-tcp}.
     */
    @Test
    void theTcpListenersShareOneLimitPerClient() throws Exception {
        Federation.Cluster a = fed.cluster("a");
        var gateways = GatewayIdentities.conventional(List.of(a.td));
        try (TcpListeners tcp = new TcpListeners(a.transport, fed.settings,
                a.tls, fed.resolver(), a.locality, new ProxyMetrics(a.meters), a.telemetry,
                a.egress.outliers())) {
            List<TcpListeners.Bound> bound = tcp.start(List.of(
                    TcpListenerSpec.parse("db-1", "db.data.svc.clusterset.local", 5432,
                            "127.0.0.1:0", Optional.empty(), MeshName.DEFAULT_SUFFIX, a.td, gateways),
                    TcpListenerSpec.parse("db-2", "db.data.svc.clusterset.local", 5432,
                            "127.0.0.1:0", Optional.empty(), MeshName.DEFAULT_SUFFIX, a.td, gateways)));
            double before = a.counter("isthmus_refused_connections_total", "listener", "egress-tcp");
            List<Socket> flood = new ArrayList<>();
            try {
                flood.addAll(open(address(74), bound.get(0).address(), 3, Flood.IDLE));
                flood.addAll(open(address(74), bound.get(1).address(), 3, Flood.IDLE));
                assertThat(heldAfterRefusals(flood, 4)).as("of 3 + 3 at two TCP listeners").hasSize(4);
                assertThat(a.counter("isthmus_refused_connections_total", "listener", "egress-tcp") - before)
                        .isEqualTo(2);
                assertThat(warnings()).singleElement().asString().contains("east-west egress-tcp listeners",
                        "127.0.0.74 holds 4 open connections", "isthmus.proxy.egress.max-connections-per-client=4");
            } finally {
                for (Socket s : flood) {
                    s.close();
                }
            }
        }
    }

    /** The class's settings, with these limits at both listeners and a handshake timeout longer than each attack. */
    private static ProxySettings limits(int perClient, int total) {
        return ProxySettings.defaults().withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(30),
                Duration.ofSeconds(6)).withConnectionLimits(
                        new ConnectionLimits("isthmus.proxy.ingress", perClient, total, Duration.ofMinutes(1)),
                        new ConnectionLimits("isthmus.proxy.egress", perClient, total, Duration.ofMinutes(1)));
    }

    private static InetSocketAddress target(Federation f, String listener) {
        return listener.equals("ingress") ? f.cluster("b").ingress.address() : f.cluster("a").egress.address();
    }

    private static double refused(Federation f, String listener) {
        return f.cluster(listener.equals("ingress") ? "b" : "a").counter("isthmus_refused_connections_total",
                "listener", listener);
    }

    private int viaEgress(InetAddress from) throws IOException {
        return viaEgressAt(fed, from);
    }

    private int direct(InetAddress from) throws IOException {
        return directAt(fed, from);
    }

    /** A local caller's request (bearer token) at a's egress, which carries it to b's ingress. */
    private static int viaEgressAt(Federation f, InetAddress from) throws IOException {
        try (RawHttp http = RawHttp.plainFrom(from, f.cluster("a").egress.address())) {
            return http.exchange(RawHttp.get("/", Federation.PAYMENTS.host(), "Authorization: Bearer checkout"))
                    .status();
        }
    }

    /** A workload of a with checkout's SVID, calling b's ingress itself over mTLS. */
    private static int directAt(Federation f, InetAddress from) throws IOException {
        var svid = TestCa.svid(f.cluster("a").ca, Federation.CHECKOUT);
        try (RawHttp http = RawHttp.tlsFrom(from, f.cluster("b").ingress.address(),
                f.cluster("b").clientContext(svid))) {
            return http.exchange(RawHttp.get("/", Federation.PAYMENTS.host())).status();
        }
    }

    private static List<Socket> open(InetAddress from, InetSocketAddress to, int n, Flood kind) throws IOException {
        List<Socket> opened = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Socket s = new Socket();
            s.bind(new InetSocketAddress(from, 0));
            s.connect(to, 2_000);
            opened.add(s);
            if (kind == Flood.HALF_HANDSHAKE) {
                try {
                    s.getOutputStream().write(HALF_CLIENT_HELLO);
                    s.getOutputStream().flush();
                } catch (IOException closedAlready) {
                    // refused at accept before the bytes went out
                }
            }
        }
        return opened;
    }

    /**
     * The sockets the gateway still holds open once it has closed all it will at once: polls until only
     * {@code expected} remain open (or 3 s passed, well inside the 6 s handshake timeout), then returns those open.
     * A refused socket must have been closed without a byte from the gateway (no TLS alert: no TLS started).
     */
    private static List<Socket> heldAfterRefusals(List<Socket> sockets, int expected) throws IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        List<Socket> open = new ArrayList<>(sockets);
        while (true) {
            List<Socket> still = new ArrayList<>();
            for (Socket s : open) {
                if (!closedWithoutAByte(s)) {
                    still.add(s);
                }
            }
            open = still;
            if (open.size() <= expected || System.nanoTime() > deadline) {
                return open;
            }
        }
    }

    private static boolean closedWithoutAByte(Socket s) throws IOException {
        s.setSoTimeout(20);
        InputStream in = s.getInputStream();
        try {
            int b = in.read();
            assertThat(b).as("what the gateway sent on a connection it closed").isEqualTo(-1);
            return true;
        } catch (SocketTimeoutException stillOpen) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    private static InetAddress address(int last) {
        try {
            return InetAddress.getByAddress(new byte[] {127, 0, 0, (byte) last});
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
