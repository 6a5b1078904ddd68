package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServicePort;

/**
 * HTTP/2 resource-exhaustion attacks on the data plane's listeners, each made as a client would make it on
 * loopback: a local workload at a's egress (h2c, bearer token) and a's gateway at b's ingress (mTLS, h2). For each,
 * the property that must hold: the gateway sheds the attacker (GOAWAY, a closed connection, refused streams), the
 * attack costs a bounded number of backend requests, and a bystander connection opened before is still served
 * quickly.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Http2FloodTest {
    private static final String HOST = "payments.billing.svc.clusterset.local";

    enum Listener { EGRESS, INGRESS }

    private Federation fed;
    private RawH2 egressBystander;
    private RawH2 ingressBystander;
    /** What the gateways and Netty logged during a test, at their configured levels (INFO and up). */
    private final List<java.util.logging.LogRecord> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final java.util.logging.Handler capture = new java.util.logging.Handler() {
        @Override
        public void publish(java.util.logging.LogRecord r) {
            logged.add(r);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeAll
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(30),
                Duration.ofSeconds(5)).withMaxHeaderSize(8192));
        egressBystander = RawH2.h2c(fed.cluster("a").egress.address());
        ingressBystander = RawH2.tls(fed.cluster("b").ingress.address(),
                fed.cluster("a").clientContext(fed.cluster("a").gateway));
    }

    @AfterAll
    void stop() throws Exception {
        egressBystander.close();
        ingressBystander.close();
        fed.close();
    }

    @BeforeEach
    void captureLogs() {
        logged.clear();
        for (String category : List.of("io.netty", "io.isthmus")) {
            java.util.logging.Logger.getLogger(category).addHandler(capture);
        }
    }

    /**
     * Every attack here is one the gateway expects: nothing reaches WARN (Netty's "reached at the tail of the
     * pipeline" WARN with a stack trace used to be written once per attacking connection) and no stack trace.
     */
    @AfterEach
    void attacksLogNoWarningAndNoStackTrace() {
        for (String category : List.of("io.netty", "io.isthmus")) {
            java.util.logging.Logger.getLogger(category).removeHandler(capture);
        }
        assertThat(logged.stream().filter(r -> r.getLevel().intValue() >= Level.WARNING.intValue()).map(Http2FloodTest::line))
                .as("warnings").isEmpty();
        assertThat(logged.stream().filter(r -> r.getLoggerName().startsWith("io.isthmus") && r.getThrown() != null)
                .map(Http2FloodTest::line)).as("lines from the gateway with a stack trace").isEmpty();
    }

    private static String line(java.util.logging.LogRecord r) {
        return r.getLevel() + " " + r.getLoggerName() + ": " + new java.util.logging.SimpleFormatter().formatMessage(r)
                + (r.getThrown() == null ? "" : " [" + r.getThrown() + "]");
    }

    @AfterEach
    void bystandersAreServedPromptly() throws Exception {
        for (Listener l : Listener.values()) {
            long start = System.nanoTime();
            RawH2.Result r = (l == Listener.EGRESS ? egressBystander : ingressBystander).send(request(l));
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertThat(r.status()).as("%s bystander: %s", l, r).isEqualTo(200);
            assertThat(millis).as("%s bystander latency (ms)", l).isLessThan(2_000);
        }
    }

    /**
     * CVE-2023-44487: HEADERS then RST_STREAM, 2,000 times in one write. Each stream the ingress accepts opens a
     * backend request; the connection must be ended (GOAWAY ENHANCE_YOUR_CALM) long before the 2,000th, so that one
     * TLS handshake buys the attacker a bounded number of backend requests.
     */
    @ParameterizedTest
    @EnumSource(Listener.class)
    void rapidResetIsShedWithGoAway(Listener listener) throws Exception {
        int before = backendRequests();
        double refused = refused(listener, "http2-enhance-your-calm");
        try (H2Attacker h2 = open(listener, true, 0)) {
            // RST_STREAM CANCEL after each request
            twoThousandStreamsEndCalmly(h2, listener, stream -> h2.frame(H2Attacker.RST_STREAM, 0, stream,
                    H2Attacker.int32(8)));
        }
        Thread.sleep(300);
        int cost = backendRequests() - before;
        assertThat(cost).as("backend requests the 2,000 reset streams cost").isLessThanOrEqualTo(210);
        assertThat(refused(listener, "http2-enhance-your-calm") - refused).as("counted once").isEqualTo(1);
    }

    /**
     * CVE-2025-8671 (MadeYouReset): the client makes the server reset each stream (a WINDOW_UPDATE of 0 on an open
     * stream is a stream error), so no RST_STREAM of its own is counted. The server's resets must be limited too.
     */
    @ParameterizedTest
    @EnumSource(Listener.class)
    void serverProvokedResetsAreShedWithGoAway(Listener listener) throws Exception {
        int before = backendRequests();
        double refused = refused(listener, "http2-enhance-your-calm");
        try (H2Attacker h2 = open(listener, true, 0)) {
            twoThousandStreamsEndCalmly(h2, listener, stream -> h2.frame(H2Attacker.WINDOW_UPDATE, 0, stream,
                    H2Attacker.int32(0)));
            assertThat(h2.resets(1)).as("streams the server reset (PROTOCOL_ERROR)").isBetween(1, 210);
        }
        Thread.sleep(300);
        assertThat(backendRequests() - before).as("backend requests").isLessThanOrEqualTo(210);
        assertThat(refused(listener, "http2-enhance-your-calm") - refused).as("counted once").isEqualTo(1);
    }

    /** One frame an attack sends on a stream it has just opened. */
    private interface StreamFrame {
        void send(int stream) throws IOException;
    }

    /**
     * Opens 2,000 streams (a request each, then {@code after} on the stream) in one write, and asserts that the
     * gateway ends the connection with GOAWAY ENHANCE_YOUR_CALM, possibly while the write is still going.
     */
    private static void twoThousandStreamsEndCalmly(H2Attacker h2, Listener listener, StreamFrame after)
            throws Exception {
        byte[] block = H2Attacker.literals(request(listener));
        try {
            for (int i = 0; i < 2_000; i++) {
                int stream = 1 + 2 * i;
                h2.frame(H2Attacker.HEADERS, H2Attacker.END_STREAM | H2Attacker.END_HEADERS, stream, block);
                after.send(stream);
            }
            h2.flush();
        } catch (IOException closedUnderUs) {
            // the gateway closed the connection while we were still writing: that is the point
        }
        assertThat(h2.endedWithin(3_000)).as("connection ended").isTrue();
        assertThat(h2.goAwayCode.get()).as("GOAWAY code").isEqualTo(H2Attacker.ENHANCE_YOUR_CALM);
    }

    /** CVE-2024-27316 class: HEADERS without END_HEADERS, then CONTINUATION frames without end (16 MiB). */
    @ParameterizedTest
    @EnumSource(Listener.class)
    void continuationFloodEndsTheConnection(Listener listener) throws Exception {
        try (H2Attacker h2 = open(listener, true, 0)) {
            h2.frame(H2Attacker.HEADERS, 0, 1, H2Attacker.literals(request(listener)));
            ByteArrayOutputStream chunk = new ByteArrayOutputStream();
            H2Attacker.literal(chunk, 0x00, "x-filler", "f".repeat(16_000));
            long sent = 0;
            try {
                for (int i = 0; i < 1_000; i++) {
                    h2.frame(H2Attacker.CONTINUATION, 0, 1, chunk.toByteArray());
                    sent += chunk.size();
                }
                h2.flush();
            } catch (IOException closedUnderUs) {
                // closed while we were writing
            }
            assertThat(h2.endedWithin(3_000)).as("connection ended after %d bytes of CONTINUATION", sent).isTrue();
            assertThat(h2.goAwayCode.get()).as("GOAWAY code").isIn(-1L, 1L, 11L);
        }
    }

    /** The same with empty CONTINUATION frames: no byte counts against the header limit, only the frames. */
    @ParameterizedTest
    @EnumSource(Listener.class)
    void emptyContinuationFloodEndsTheConnection(Listener listener) throws Exception {
        try (H2Attacker h2 = open(listener, true, 0)) {
            h2.frame(H2Attacker.HEADERS, 0, 1, H2Attacker.literals(request(listener)));
            try {
                for (int i = 0; i < 100_000; i++) {
                    h2.frame(H2Attacker.CONTINUATION, 0, 1, new byte[0]);
                }
                h2.flush();
            } catch (IOException closedUnderUs) {
                // closed while we were writing
            }
            assertThat(h2.endedWithin(3_000)).as("connection ended").isTrue();
        }
    }

    /**
     * HPACK bomb: one 4,000-byte field put in the dynamic table, then referenced 4,000 times by a one-byte index: a
     * 4 KiB header block that decodes to 16 MB of headers. The header-list limit (8 KiB here) must be enforced while
     * decoding: the stream is refused (431 or a reset) and the connection goes on serving.
     */
    @ParameterizedTest
    @EnumSource(Listener.class)
    void hpackBombIsRefusedWhileDecoding(Listener listener) throws Exception {
        int before = backendRequests();
        try (H2Attacker h2 = open(listener, true, 0)) {
            ByteArrayOutputStream block = new ByteArrayOutputStream();
            block.writeBytes(H2Attacker.literals(request(listener)));
            H2Attacker.literal(block, 0x40, "x-bomb", "b".repeat(4_000));
            for (int i = 0; i < 4_000; i++) {
                block.write(0x80 | 62); // indexed field: the newest dynamic-table entry
            }
            h2.frame(H2Attacker.HEADERS, H2Attacker.END_STREAM | H2Attacker.END_HEADERS, 1, block.toByteArray());
            h2.flush();
            long deadline = System.nanoTime() + 3_000_000_000L;
            while (h2.responses.get() == 0 && h2.resets(1) == 0 && h2.goAwayCode.get() < 0
                    && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(h2.responses.get() + h2.resets(1) + (h2.goAwayCode.get() >= 0 ? 1 : 0))
                    .as("the stream was answered or reset, or the connection went away").isPositive();
        }
        assertThat(backendRequests() - before).as("the bomb never reached a backend").isZero();
    }

    /**
     * A client that never reads floods PINGs (or SETTINGS): each asks for an ACK, which waits behind a full TCP
     * buffer. What the gateway holds for that connection must stay bounded: Netty's codec closes a connection with
     * more than 10,000 control frames queued (its default, which the gateway sets explicitly), so the ACKs never hold
     * more than about 1.1 MB per connection (10,000 times the frame and Netty's 96 bytes of bookkeeping per write),
     * however many come. Up to a million frames are sent within 3 s.
     */
    @ParameterizedTest
    @EnumSource(Listener.class)
    void pingFloodFromAClientThatNeverReadsHoldsBoundedMemory(Listener listener) throws Exception {
        controlFlood(listener, H2Attacker.PING, new byte[8]);
    }

    @ParameterizedTest
    @EnumSource(Listener.class)
    void settingsFloodFromAClientThatNeverReadsHoldsBoundedMemory(Listener listener) throws Exception {
        controlFlood(listener, H2Attacker.SETTINGS, new byte[0]);
    }

    private void controlFlood(Listener listener, int type, byte[] payload) throws Exception {
        try (H2Attacker h2 = open(listener, false, 4096)) {
            long deadline = System.nanoTime() + 3_000_000_000L;
            long most = 0;
            try {
                for (int i = 0; i < 1_000_000 && System.nanoTime() < deadline; i++) {
                    h2.frame(type, 0, 0, payload);
                    if (i % 10_000 == 9_999) {
                        h2.flush();
                        most = Math.max(most, pendingWriteBytes(listener));
                    }
                }
                h2.flush();
            } catch (IOException closed) {
                // the gateway closed the connection while we were still writing
            }
            most = Math.max(most, pendingWriteBytes(listener));
            assertThat(most).as("bytes the gateway queued for one connection").isLessThan(2 << 20);
        }
    }

    /** The most bytes waiting to be written on any of the attacked listener's connections. */
    private long pendingWriteBytes(Listener listener) throws Exception {
        io.netty.channel.group.ChannelGroup connections = listener == Listener.EGRESS
                ? fed.cluster("a").egress.connections() : fed.cluster("b").ingress.connections();
        long most = 0;
        for (io.netty.channel.Channel c : connections) {
            long pending = c.eventLoop().submit(() -> {
                io.netty.channel.ChannelOutboundBuffer buffer = c.unsafe().outboundBuffer();
                return buffer == null ? 0L : buffer.totalPendingWriteBytes();
            }).get();
            most = Math.max(most, pending);
        }
        return most;
    }

    /**
     * More concurrent streams than the advertised limit (256), from a client that never acknowledges the server's
     * SETTINGS (Netty applies them only once acknowledged): the extra ones must be refused, not opened, so that one
     * connection holds at most 256 exchanges, each with a backend connection. The backend here accepts and never
     * answers, so every stream the gateway opened stays open.
     */
    @ParameterizedTest
    @EnumSource(Listener.class)
    void streamsBeyondTheLimitAreRefused(Listener listener) throws Exception {
        MeshName sink = MeshName.of("sink-" + listener.name().toLowerCase(java.util.Locale.ROOT), "billing");
        try (java.net.ServerSocket backend = new java.net.ServerSocket(0, 1024,
                java.net.InetAddress.getLoopbackAddress())) {
            List<java.net.Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>();
            Thread.ofVirtual().start(() -> {
                try {
                    while (true) {
                        held.add(backend.accept());
                    }
                } catch (IOException closed) {
                    // the test is over
                }
            });
            fed.extraBackends.put(sink.host(), (java.net.InetSocketAddress) backend.getLocalSocketAddress());
            fed.export(fed.cluster("b"), sink, new ServicePort("http", 80, Protocol.HTTP));
            try (H2Attacker h2 = open(listener, true, 0)) {
                List<String[]> fields = new ArrayList<>(RawH2.get("https", "/", sink.host(), identity(listener)));
                fields.set(0, new String[] {":method", "POST"});
                byte[] block = H2Attacker.literals(fields);
                for (int i = 0; i < 400; i++) {
                    h2.frame(H2Attacker.HEADERS, H2Attacker.END_HEADERS, 1 + 2 * i, block); // bodies never come
                }
                h2.flush();
                long deadline = System.nanoTime() + 3_000_000_000L;
                while (h2.resets(H2Attacker.REFUSED_STREAM) < 144 && held.size() < 400 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                Thread.sleep(300);
                assertThat(held.size()).as("backend connections the 400 streams opened").isLessThanOrEqualTo(256);
                assertThat(h2.resets(H2Attacker.REFUSED_STREAM)).as("streams refused").isEqualTo(144);
                bystandersAreServedPromptly(); // while the attacker's streams are open
            } finally {
                for (java.net.Socket s : held) {
                    s.close();
                }
            }
        }
    }

    private H2Attacker open(Listener listener, boolean read, int receiveBuffer) throws IOException {
        Federation.Cluster a = fed.cluster("a");
        return listener == Listener.EGRESS ? H2Attacker.h2c(a.egress.address(), read, receiveBuffer)
                : H2Attacker.tls(fed.cluster("b").ingress.address(), a.clientContext(a.gateway), read, receiveBuffer);
    }

    private static List<String[]> request(Listener listener) {
        return RawH2.get("https", "/", HOST, identity(listener));
    }

    private static String identity(Listener listener) {
        return listener == Listener.EGRESS ? "authorization: Bearer checkout" : "x-isthmus-caller: " + Federation.CHECKOUT;
    }

    /** Refusals the attacked listener counted with {@code reason}. */
    private double refused(Listener listener, String reason) {
        return fed.cluster(listener == Listener.EGRESS ? "a" : "b").counter("isthmus_requests_refused_total",
                "listener", listener.name().toLowerCase(java.util.Locale.ROOT), "reason", reason);
    }

    /** Requests b's payments backend received (every attack here ends there, from either listener). */
    private int backendRequests() {
        return fed.cluster("b").backendSawXfcc.size();
    }
}
