package io.isthmus.trust.federation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.isthmus.trust.testing.LogCapture;
import io.isthmus.trust.endpoint.ConnectionGate;
import io.isthmus.trust.endpoint.ConnectionLimits;

/**
 * The attacker can reach the bundle endpoint (it answers anyone) and opens connections it never uses, from one
 * address, to hold the gateway's file descriptors and threads. Beyond the per-client limit its connections are closed
 * at once, counted, and logged once; a peer at another address still fetches the bundle; once the attacker lets go,
 * its address is served again. Real sockets on loopback, each client on a loopback address of its own.
 */
class BundleEndpointConnectionFloodTest {
    private static final Duration BOUND = Duration.ofSeconds(5);
    private static final InetAddress PEER = InetAddress.getLoopbackAddress();

    private final List<Socket> held = new ArrayList<>();

    /** The connection gate's log: its warnings name the refused address and the setting. */
    private LogCapture gateLog;

    private List<String> warnings() {
        return gateLog.atLeast(Level.WARNING);
    }

    @BeforeEach
    void recordWarnings() {
        gateLog = LogCapture.of(ConnectionGate.class);
    }

    @AfterEach
    void release() throws IOException {
        gateLog.close();
        for (Socket s : held) {
            s.close();
        }
    }

    @Test
    void oneClientsIdleConnectionsBeyondItsLimitAreRefusedAndOtherPeersStillFetch() throws Exception {
        InetAddress attacker = InetAddress.getByAddress(new byte[] {127, 0, 0, 61});
        BundleEndpointFixture endpoint = BundleEndpointFixture.create();
        try (BundleEndpointServer server = endpoint.start(Clock.systemUTC(),
                new ConnectionLimits(4, 64, Duration.ofMinutes(1)))) {
            List<Socket> flood = idle(attacker, server, 40);

            await("the 36 connections over the limit of 4 refused").atMost(BOUND)
                    .until(() -> server.refusedConnections() == 36);
            assertThat(server.openConnections()).isEqualTo(4);
            await("the refused connections closed at once").atMost(BOUND).until(() -> closedByServer(flood) == 36);

            // While the attacker holds its four: a peer's fetch is answered, the attacker's own is refused.
            assertThat(fetch(endpoint, server, PEER).statusCode()).isEqualTo(200);
            assertThat(catchThrowable(() -> fetch(endpoint, server, attacker))).isInstanceOf(IOException.class);
            assertThat(warnings()).as("one warning for %d refusals", server.refusedConnections()).hasSize(1);
            assertThat(warnings().get(0)).contains("127.0.0.61 holds 4 open connections",
                    "isthmus.bundle-endpoint.max-connections-per-client=4");

            for (Socket s : flood) {
                s.close();
            }
            await().atMost(BOUND).until(() -> server.openConnections() == 0);
            assertThat(fetch(endpoint, server, attacker).statusCode()).as("served again once it let go")
                    .isEqualTo(200);
        }
    }

    /** Many addresses, each under its own limit, fill the endpoint: the connection over the total is refused. */
    @Test
    void connectionsBeyondTheTotalAreRefused() throws Exception {
        BundleEndpointFixture endpoint = BundleEndpointFixture.create();
        try (BundleEndpointServer server = endpoint.start(Clock.systemUTC(),
                new ConnectionLimits(4, 6, Duration.ofMinutes(1)))) {
            idle(InetAddress.getByAddress(new byte[] {127, 0, 0, 62}), server, 4);
            await().atMost(BOUND).until(() -> server.openConnections() == 4);
            List<Socket> second = idle(InetAddress.getByAddress(new byte[] {127, 0, 0, 63}), server, 4);
            await("the 2 connections over the total of 6 refused").atMost(BOUND)
                    .until(() -> server.refusedConnections() == 2);
            await().atMost(BOUND).until(() -> closedByServer(second) == 2);
            assertThat(server.openConnections()).isEqualTo(6);
            assertThat(warnings()).singleElement().asString().contains("refused 127.0.0.63",
                    "isthmus.bundle-endpoint.max-connections=6");
        }
    }

    /** {@code n} TCP connections from {@code from} that never send a byte. */
    private List<Socket> idle(InetAddress from, BundleEndpointServer server, int n) throws IOException {
        List<Socket> opened = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Socket s = new Socket();
            held.add(s);
            s.bind(new InetSocketAddress(from, 0));
            s.connect(new InetSocketAddress(PEER, server.address().getPort()), (int) BOUND.toMillis());
            s.setSoTimeout(20);
            opened.add(s);
        }
        return opened;
    }

    /** How many of {@code sockets} the server has closed (end of stream; nothing else is ever sent on them). */
    private static long closedByServer(List<Socket> sockets) throws IOException {
        long closed = 0;
        for (Socket s : sockets) {
            try {
                if (s.isClosed() || s.getInputStream().read() < 0) {
                    closed++;
                }
            } catch (SocketTimeoutException open) {
                // still open
            } catch (IOException reset) {
                closed++;
            }
        }
        return closed;
    }

    private static HttpResponse<String> fetch(BundleEndpointFixture endpoint, BundleEndpointServer server,
            InetAddress from) throws Exception {
        try (HttpClient http = HttpClient.newBuilder().sslContext(endpoint.peerTls()).localAddress(from)
                .connectTimeout(BOUND).build()) {
            return http.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.address().getPort() + "/"))
                    .timeout(BOUND).build(), HttpResponse.BodyHandlers.ofString());
        }
    }
}
