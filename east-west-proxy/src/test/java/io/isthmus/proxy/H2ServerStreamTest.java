package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.isthmus.proxy.exchange.H2ServerStreams;
import io.isthmus.proxy.http.Http2Support;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServicePort;
import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.handler.codec.http2.Http2MultiplexHandler;

/**
 * The streams callers open on a listener connection that speaks HTTP/2 are objects on one connection handler
 * ({@link H2ServerStreams}), not child channels; shown over loopback with real clients (h2c at a's egress, and the
 * gateway hop: a's egress opening h2 streams at b's ingress), for what such a stream must do by itself: end once
 * whichever side resets it, let go of its exchange when its connection closes with streams open, answer a refused
 * request on the stream alone, give its window back only for bytes that moved upstream, and leave no stream behind.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class H2ServerStreamTest {
    private static final String HOST = "payments.billing.svc.clusterset.local";
    private static final String TOKEN = "authorization: Bearer checkout";

    private static final MeshName BULK = MeshName.of("bulk", "billing");
    private static final long MIB = 1024 * 1024;

    private Federation fed;
    private Bulk.Backend bulk;

    @BeforeAll
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(30),
                Duration.ofSeconds(5)));
        bulk = new Bulk.Backend();
        fed.extraBackends.put(BULK.host(), bulk.address());
        fed.export(fed.cluster("b"), BULK, new ServicePort("http", 80, Protocol.HTTP));
    }

    @AfterAll
    void stop() {
        fed.close();
        bulk.close();
    }

    /** What the gateways' pooled buffers hold now (both gateways of the test share Netty's allocator). */
    private double buffers() {
        return fed.cluster("a").meters.find("isthmus_proxy_buffers_bytes").gauges().stream()
                .mapToDouble(g -> g.value()).sum();
    }

    /** The listener's HTTP/2 connections' stream handlers (read on each connection's event loop). */
    private static List<Integer> openStreams(ChannelGroup connections) throws Exception {
        List<Integer> open = new ArrayList<>();
        for (Channel c : connections) {
            Integer n = c.eventLoop().submit(() -> {
                H2ServerStreams streams = c.pipeline().get(H2ServerStreams.class);
                return streams == null ? null : streams.openStreams();
            }).get(5, TimeUnit.SECONDS);
            if (n != null) {
                open.add(n);
            }
        }
        return open;
    }

    @Test
    void aListenerConnectionSpeakingHttp2HasOneStreamHandlerAndNoChildChannels() throws Exception {
        try (H2Client h2 = H2Client.h2c(fed.cluster("a").egress.address())) {
            for (int i = 0; i < 3; i++) {
                assertThat(h2.get("/s/" + i, HOST, TOKEN).status()).isEqualTo(200);
            }
            for (ChannelGroup listener : List.of(fed.cluster("a").egress.connections(),
                    fed.cluster("b").ingress.connections())) {
                List<Channel> http2 = listener.stream().filter(c -> c.pipeline().get("h2") != null).toList();
                assertThat(http2).as("the caller's h2c connection, or the gateway hop's h2 connection").isNotEmpty();
                for (Channel c : http2) {
                    assertThat(c.pipeline().get(Http2MultiplexHandler.class)).as("no child channel per stream")
                            .isNull();
                    assertThat(c.pipeline().get(Http2Support.STREAMS)).isInstanceOf(H2ServerStreams.class);
                }
            }
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                assertThat(openStreams(fed.cluster("a").egress.connections())).as("every stream ended").containsOnly(0);
                assertThat(openStreams(fed.cluster("b").ingress.connections())).containsOnly(0);
            });
        }
    }

    @Test
    void aCallersResetEndsItsStreamAndTheStreamTheGatewayOpenedForItButNotTheConnection() throws Exception {
        Federation.Cluster b = fed.cluster("b");
        int slowBefore = b.slowCallsStarted.get();
        try (H2Attacker caller = H2Attacker.h2c(fed.cluster("a").egress.address(), true, 0)) {
            caller.frame(H2Attacker.HEADERS, H2Attacker.END_STREAM | H2Attacker.END_HEADERS, 1,
                    H2Attacker.literals(RawH2.get("http", "/slow/reset", HOST, TOKEN)));
            caller.flush();
            await().atMost(Duration.ofSeconds(5)).until(() -> b.slowCallsStarted.get() > slowBefore);
            caller.frame(H2Attacker.RST_STREAM, 0, 1, H2Attacker.int32(8)); // CANCEL
            caller.flush();
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                assertThat(openStreams(fed.cluster("a").egress.connections())).as("the caller's stream")
                        .containsOnly(0);
                assertThat(openStreams(b.ingress.connections())).as("the gateway hop's stream, reset in turn")
                        .containsOnly(0);
            });
            assertThat(caller.resets(8)).as("a reset is not answered with a reset").isZero();
            caller.frame(H2Attacker.HEADERS, H2Attacker.END_STREAM | H2Attacker.END_HEADERS, 3,
                    H2Attacker.literals(RawH2.get("http", "/after-reset", HOST, TOKEN)));
            caller.flush();
            await().atMost(Duration.ofSeconds(5)).until(() -> caller.responses.get() == 1);
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(fed.cluster("a").accessLog)
                .filteredOn(l -> l.contains("\"path\":\"/slow/reset\"") && l.contains("\"code\":499")).hasSize(1));
    }

    @Test
    void aStreamErrorIsAnsweredWithAResetOnThatStreamAloneAndCounted() throws Exception {
        try (H2Attacker caller = H2Attacker.h2c(fed.cluster("a").egress.address(), true, 0)) {
            // A body longer than its content-length: the codec finds it, the stream is reset with PROTOCOL_ERROR.
            List<String[]> head = new ArrayList<>(RawH2.get("http", "/too-long", HOST, TOKEN));
            head.set(0, new String[] {":method", "POST"});
            head.add(new String[] {"content-length", "3"});
            caller.frame(H2Attacker.HEADERS, H2Attacker.END_HEADERS, 1, H2Attacker.literals(head));
            caller.frame(H2Attacker.DATA, H2Attacker.END_STREAM, 1, "abcdef".getBytes());
            caller.flush();
            await().atMost(Duration.ofSeconds(5)).until(() -> caller.resets(1) == 1);
            caller.frame(H2Attacker.HEADERS, H2Attacker.END_STREAM | H2Attacker.END_HEADERS, 3,
                    H2Attacker.literals(RawH2.get("http", "/next", HOST, TOKEN)));
            caller.flush();
            await().atMost(Duration.ofSeconds(5)).until(() -> caller.responses.get() == 1);
            assertThat(caller.goAwayCode.get()).as("the connection goes on").isEqualTo(-1);
        }
        assertThat(fed.cluster("a").counter("isthmus_requests_refused_total", "listener", "egress", "reason",
                "http2-protocol-error")).isGreaterThanOrEqualTo(1);
    }

    @Test
    void aRefusedRequestIsAnsweredOnItsStreamAndTheRestOfItIsDropped() throws Exception {
        try (RawH2 caller = RawH2.h2c(fed.cluster("a").egress.address())) {
            List<String[]> bad = new ArrayList<>(RawH2.get("http", "/", HOST, TOKEN));
            bad.set(0, new String[] {":method", "POST"});
            bad.add(new String[] {"x-note", "a\u0001b"});
            RawH2.Result refused = caller.send(bad, "dropped".getBytes(), RawH2.fields("x-trailer: t"));
            assertThat(refused.status()).isEqualTo(400);
            assertThat(refused.reason()).isNotBlank();
            assertThat(caller.send(RawH2.get("http", "/fine", HOST, TOKEN)).status()).as("the connection goes on")
                    .isEqualTo(200);
        }
    }

    @Test
    void aConnectionClosedWithStreamsOpenEndsEachOfThemOnce() throws Exception {
        Federation.Cluster b = fed.cluster("b");
        int slowBefore = b.slowCallsStarted.get();
        InetSocketAddress egress = fed.cluster("a").egress.address();
        H2Attacker caller = H2Attacker.h2c(egress, true, 0);
        for (int stream : new int[] {1, 3}) {
            caller.frame(H2Attacker.HEADERS, H2Attacker.END_STREAM | H2Attacker.END_HEADERS, stream,
                    H2Attacker.literals(RawH2.get("http", "/slow/closed-" + stream, HOST, TOKEN)));
        }
        caller.flush();
        await().atMost(Duration.ofSeconds(5)).until(() -> b.slowCallsStarted.get() >= slowBefore + 2);
        caller.close();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(openStreams(b.ingress.connections())).as("the gateway hop's streams were reset in turn")
                    .containsOnly(0);
            assertThat(fed.cluster("a").accessLog).as("each stream ended once, as a caller gone (499)")
                    .filteredOn(l -> l.contains("\"path\":\"/slow/closed-") && l.contains("\"code\":499")).hasSize(2);
        });
    }

    @Test
    void aSlowUpstreamHoldsAnHttp2CallerBackByItsStreamWindow() throws Exception {
        bulk.sinkPauseMillis = 60_000;
        try (H2Attacker caller = H2Attacker.h2c(fed.cluster("a").egress.address(), true, 0)) {
            List<String[]> head = new ArrayList<>(RawH2.get("http", "/sink", BULK.host(), TOKEN));
            head.set(0, new String[] {":method", "POST"});
            caller.frame(H2Attacker.HEADERS, H2Attacker.END_HEADERS, 1, H2Attacker.literals(head));
            // Sends what the stream's window allows (65,535 bytes, plus what the gateway gives back) until nothing
            // more was given back for a second; never more than 64 MiB.
            byte[] chunk = new byte[16 * 1024];
            long sent = 0;
            long granted = 0;
            long quietSince = System.nanoTime();
            while (sent < 64 * MIB && System.nanoTime() - quietSince < 1_000_000_000L) {
                long now = caller.windowGranted(1);
                if (now != granted) {
                    granted = now;
                    quietSince = System.nanoTime();
                }
                if (65_535 + granted - sent >= chunk.length) {
                    caller.frame(H2Attacker.DATA, 0, 1, chunk);
                    caller.flush();
                    sent += chunk.length;
                } else {
                    Thread.sleep(20);
                }
            }
            System.out.printf("slow upstream: an h2 caller could send %d KiB, the backend read %d KiB, gateway buffers"
                    + " %d KiB%n", sent / 1024, bulk.sinkRead.get() / 1024, (long) buffers() / 1024);
            // The backend's socket buffers plus about one stream window per gateway (4 MiB in our run): the window
            // goes back only for bytes that moved upstream. Given back as frames were read, 35 MiB went in our run.
            assertThat(sent).as("bytes the caller could send while the backend read nothing").isLessThan(16 * MIB);
            assertThat(buffers()).as("gateway buffers while the upstream stalls").isLessThan(8 * MIB);
            assertThat(caller.goAwayCode.get()).isEqualTo(-1);
        } finally {
            bulk.sinkPauseMillis = 0;
        }
    }
}
