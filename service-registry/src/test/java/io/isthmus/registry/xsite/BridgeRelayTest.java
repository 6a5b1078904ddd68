package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The relay every replica runs in front of its site master's bridge, over real sockets on loopback: a connection
 * reaches whichever site master is current when it arrives, bytes flow both ways unchanged, nobody is relayed while
 * no site master is known, and closing the relay ends the connections it carries.
 */
class BridgeRelayTest {
    private final AtomicReference<Optional<InetSocketAddress>> master = new AtomicReference<>(Optional.empty());
    private BridgeRelay relay;
    private SiteMaster first;
    private SiteMaster second;

    /** A stand-in bridge: answers every line with its name and the line. */
    private static final class SiteMaster implements AutoCloseable {
        private final ServerSocket server;

        SiteMaster(String name) throws IOException {
            server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
            Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        Thread.ofVirtual().start(() -> answer(s, name));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        private static void answer(Socket s, String name) {
            try (s; var in = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                    OutputStream out = s.getOutputStream()) {
                String line;
                while ((line = in.readLine()) != null) {
                    out.write((name + ":" + line + "\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                }
            } catch (IOException e) {
                // peer gone
            }
        }

        InetSocketAddress address() {
            return (InetSocketAddress) server.getLocalSocketAddress();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    @AfterEach
    void close() throws IOException {
        if (relay != null) {
            relay.close();
        }
        if (first != null) {
            first.close();
        }
        if (second != null) {
            second.close();
        }
    }

    private void startRelay() throws IOException {
        relay = BridgeRelay.start("alpha", new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), master::get);
    }

    private static String exchange(Socket s, String line) throws IOException {
        s.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
        s.getOutputStream().flush();
        StringBuilder sb = new StringBuilder();
        InputStream in = s.getInputStream();
        int c;
        while ((c = in.read()) != -1 && c != '\n') {
            sb.append((char) c);
        }
        return sb.toString();
    }

    private Socket dial() throws IOException {
        Socket s = new Socket();
        s.connect(relay.address(), 2_000);
        s.setSoTimeout(5_000);
        return s;
    }

    @Test
    void aConnectionReachesTheSiteMasterCurrentWhenItArrives() throws Exception {
        first = new SiteMaster("first");
        second = new SiteMaster("second");
        startRelay();
        master.set(Optional.of(first.address()));
        try (Socket a = dial()) {
            assertThat(exchange(a, "hello")).isEqualTo("first:hello");
            assertThat(exchange(a, "again")).isEqualTo("first:again");
            // The site master changes: connections already relayed stay where they are; new ones go to the new one.
            master.set(Optional.of(second.address()));
            try (Socket b = dial()) {
                assertThat(exchange(b, "hello")).isEqualTo("second:hello");
            }
            assertThat(exchange(a, "still")).isEqualTo("first:still");
        }
        assertThat(relay.relayed()).isEqualTo(2);
        assertThat(relay.refused()).isZero();
    }

    @Test
    void withoutASiteMasterTheConnectionIsClosedAndCounted() throws Exception {
        startRelay();
        try (Socket a = dial()) {
            assertThat(a.getInputStream().read()).as("closed at once: end of stream").isEqualTo(-1);
        }
        // A site master that does not accept is no better. The port is held by a bound socket that does not listen
        // (a closed server's port could be taken by another test's listener meanwhile and accept).
        try (Socket holder = new Socket()) {
            holder.bind(new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0));
            master.set(Optional.of((InetSocketAddress) holder.getLocalSocketAddress()));
            try (Socket a = dial()) {
                assertThat(a.getInputStream().read()).isEqualTo(-1);
            }
        }
        assertThat(relay.refused()).isEqualTo(2);
        assertThat(relay.relayed()).isZero();
    }

    @Test
    void closingTheRelayEndsTheConnectionsItCarries() throws Exception {
        first = new SiteMaster("first");
        startRelay();
        master.set(Optional.of(first.address()));
        try (Socket a = dial()) {
            assertThat(exchange(a, "hello")).isEqualTo("first:hello");
            relay.close();
            await().atMost(Duration.ofSeconds(5)).until(() -> {
                try {
                    return a.getInputStream().read() == -1;
                } catch (IOException e) {
                    return true;
                }
            });
        }
    }
}
