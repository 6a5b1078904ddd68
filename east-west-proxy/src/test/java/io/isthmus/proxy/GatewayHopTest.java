package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.isthmus.proxy.outlier.OutlierPolicy;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServicePort;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContextBuilder;

/**
 * The gateway hop (issue 14 items 3 and 6): every HTTP request crosses it as a stream of a multiplexed HTTP/2 mTLS
 * connection, which obeys the peer's stream limit by opening more connections; a gRPC caller's {@code grpc-timeout}
 * is a deadline at each gateway and travels shortened; a failed attempt is retried on the next cluster only when it
 * cannot have been processed or is idempotent and whole; a cluster whose ingress keeps refusing connects is skipped.
 */
class GatewayHopTest {
    private static final MeshName ORDERS = MeshName.of("orders", "shop");
    private static final String TOKEN = "Authorization: Bearer checkout";
    private Federation fed;
    private final EventLoopGroup fakes = new NioEventLoopGroup(1);

    @BeforeEach
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(30),
                Duration.ofSeconds(5)).withOutliers(new OutlierPolicy(3, Duration.ofMinutes(1), Duration.ofMinutes(1))));
    }

    @AfterEach
    void stop() {
        fed.close();
        fakes.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static final MethodDescriptor<byte[], byte[]> HOLD = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.SERVER_STREAMING).setFullMethodName("isthmus.test.Hold/Hold")
            .setRequestMarshaller(GrpcBytes.MARSHALLER).setResponseMarshaller(GrpcBytes.MARSHALLER).build();

    @Test
    void threeHundredConcurrentStreamsSpreadOverConnectionsWithinThePeersStreamLimit() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Server backend = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .addService(ServerServiceDefinition.builder("isthmus.test.Hold")
                        .addMethod(HOLD, ServerCalls.asyncServerStreamingCall((request, out) -> {
                            out.onNext(new byte[1]);
                            Thread.ofVirtual().start(() -> {
                                try {
                                    release.await();
                                } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                }
                                out.onCompleted();
                            });
                        })).build())
                .build().start();
        MeshName hold = MeshName.of("hold", "shop");
        fed.exportGrpcFromB(hold, backend.getPort());
        // Two caller connections (one gRPC channel keeps to its connection's own limit of 256 streams).
        List<ManagedChannel> callers = List.of(fed.grpcChannel(Federation.CHECKOUT, hold, 1 << 20),
                fed.grpcChannel(Federation.CHECKOUT, hold, 1 << 20));
        AtomicInteger open = new AtomicInteger();
        AtomicInteger ok = new AtomicInteger();
        Map<String, AtomicInteger> failed = new ConcurrentHashMap<>();
        try {
            for (int i = 0; i < 300; i++) {
                ClientCalls.asyncServerStreamingCall(callers.get(i % 2).newCall(HOLD, CallOptions.DEFAULT
                        .withDeadlineAfter(60, TimeUnit.SECONDS)), new byte[0], new StreamObserver<byte[]>() {
                            @Override
                            public void onNext(byte[] value) {
                                open.incrementAndGet();
                            }

                            @Override
                            public void onError(Throwable t) {
                                failed.computeIfAbsent(Status.fromThrowable(t).getCode().name(),
                                        k -> new AtomicInteger()).incrementAndGet();
                            }

                            @Override
                            public void onCompleted() {
                                ok.incrementAndGet();
                            }
                        });
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> open.get() + failed.size() >= 300 || !failed.isEmpty());
            assertThat(failed).isEmpty();
            assertThat(open.get()).as("calls open at once").isEqualTo(300);
            // b's ingress allows 256 streams per connection: 300 at once need a second gateway connection.
            assertThat(fed.cluster("a").egress.openH2PeerConnections()).isGreaterThanOrEqualTo(2);
            release.countDown();
            await().atMost(Duration.ofSeconds(60)).until(() -> ok.get() + failed.size() >= 300);
            assertThat(failed).isEmpty();
        } finally {
            release.countDown();
            for (ManagedChannel c : callers) {
                c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            backend.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static List<String[]> grpcCall(MeshName name, String timeout) {
        List<String[]> fields = new ArrayList<>(List.of(new String[] {":method", "POST"},
                new String[] {":scheme", "http"}, new String[] {":path", "/isthmus.test.Slow/Call"},
                new String[] {":authority", name.host()}, new String[] {"content-type", "application/grpc"},
                new String[] {"te", "trailers"}, new String[] {"authorization", "Bearer checkout"}));
        if (timeout != null) {
            fields.add(new String[] {"grpc-timeout", timeout});
        }
        return fields;
    }

    @Test
    void aCallersGrpcTimeoutIsEnforcedAtTheGatewaysAndTravelsShortened() throws Exception {
        List<String> timeouts = new CopyOnWriteArrayList<>();
        MeshName slow = MeshName.of("slow", "shop");
        // A backend that records the headers of every call and never answers.
        fed.extraBackends.put(slow.host(), RawH2Server.bind(fakes, null, (ctx, h) -> timeouts.add(String.valueOf(h.headers()
                .get("grpc-timeout")))));
        fed.export(fed.cluster("b"), slow, new ServicePort("grpc", 9090, Protocol.GRPC));
        try (RawH2 h2 = RawH2.h2c(fed.cluster("a").egress.address())) {
            // The backend never answers: only a gateway's deadline can end this call.
            RawH2.Result r = h2.send(grpcCall(slow, "800m"));
            assertThat(r.status()).as("%s", r).isEqualTo(200);
            assertThat(r.headers()).containsEntry("grpc-status", "4");
            assertThat(r.headers().get("grpc-message")).startsWith("isthmus gateway: the call's deadline (grpc-timeout");

            // A value the spec does not allow is refused before the call goes anywhere.
            RawH2.Result bad = h2.send(grpcCall(slow, "1.5S"));
            assertThat(bad.status()).isEqualTo(400);
            assertThat(bad.reason()).isEqualTo("invalid-grpc-timeout");
        }
        assertThat(timeouts).singleElement().satisfies(t -> {
            // What reached the backend is what was left after both hops, not the caller's 800 ms.
            assertThat(t).endsWith("u");
            assertThat(Long.parseLong(t.substring(0, t.length() - 1))).isBetween(1L, 800_000L - 1);
        });
        // Both deadlines end at about the same moment (the ingress's is what was left after the hop): either the
        // egress's passed first, ended the call with DEADLINE_EXCEEDED and cancelled the stream upstream (b counts a
        // reset), or the ingress's did (b counts DEADLINE_EXCEEDED itself, which a relays). Either way the call
        // ended once at each gateway, as DEADLINE_EXCEEDED for the caller.
        assertThat(fed.cluster("a").counter("isthmus_grpc_calls_total", "grpc_status", "4")).isEqualTo(1.0);
        await().atMost(Duration.ofSeconds(10)).until(() -> fed.cluster("b").counter("isthmus_grpc_calls_total",
                "grpc_status", "reset") + fed.cluster("b").counter("isthmus_grpc_calls_total", "grpc_status", "4")
                == 1.0);
        assertThat(fed.cluster("a").counter("isthmus_requests_refused_total", "reason", "invalid-grpc-timeout"))
                .isEqualTo(1.0);
    }

    /**
     * A stand-in for cluster b's ingress that presents b's genuine gateway SVID (so the egress accepts it) and, per
     * stream, either drops the whole connection once the request head arrived, or refuses the stream unprocessed.
     */
    private int fakeIngressOfB(boolean refuse, AtomicInteger streams) throws Exception {
        int port = fakeIngressOfB((ctx, h) -> {
            streams.incrementAndGet();
            if (refuse) {
                ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.REFUSED_STREAM));
            } else {
                ctx.channel().parent().close();
            }
        });
        fed.extraBackends.put(ORDERS.host(), fed.cluster("c").backend.getAddress());
        fed.export(fed.cluster("c"), ORDERS, new ServicePort("http", 80, Protocol.HTTP));
        assertThat(fed.exportsOf(ORDERS)).first().satisfies(e -> assertThat(e.key().cluster()).isEqualTo("b"));
        return port;
    }

    /** A stand-in for b's ingress with b's genuine gateway SVID, exporting ORDERS; {@code onHeaders} per stream. */
    private int fakeIngressOfB(java.util.function.BiConsumer<ChannelHandlerContext, Http2HeadersFrame> onHeaders)
            throws Exception {
        Federation.Cluster b = fed.cluster("b");
        var tls = SslContextBuilder.forServer(b.gateway.key(), b.gateway.chain()
                .toArray(java.security.cert.X509Certificate[]::new))
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2))
                .build();
        int port = RawH2Server.bind(fakes, tls, onHeaders).getPort();
        fed.exportAs("b", port, b.locality, ORDERS, new ServicePort("http", 80, Protocol.HTTP));
        return port;
    }

    /**
     * A draining peer (its CA retired) sends GOAWAY on every connection, covering none of the streams it got: the
     * call is sent again to the same cluster on a new connection (only b exports the name here, so nothing else can
     * serve it), at most twice; then the caller gets the failures of all three attempts.
     */
    @Test
    void anUnprocessedAttemptGoesToTheSameClusterAgainAtMostTwice() throws Exception {
        AtomicInteger goAwaysLeft = new AtomicInteger(1);
        AtomicInteger streams = new AtomicInteger();
        CopyOnWriteArrayList<io.netty.channel.Channel> connections = new CopyOnWriteArrayList<>();
        fakeIngressOfB((ctx, h) -> {
            streams.incrementAndGet();
            io.netty.channel.Channel connection = ctx.channel().parent();
            connections.addIfAbsent(connection);
            if (goAwaysLeft.getAndDecrement() > 0) {
                // The race of a drain: the peer's GOAWAY (last stream id 0) left before our HEADERS arrived.
                rawGoAway(connection, 0);
            } else {
                answerOk(ctx);
            }
        });
        assertThat(fed.exportsOf(ORDERS)).singleElement().satisfies(e -> assertThat(e.key().cluster()).isEqualTo("b"));
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            // A POST: a stream the peer never processed may go again whatever the method.
            RawHttp.Response r = http.exchange(post(ORDERS.host(), ""));
            assertThat(r.status()).as("%s", r).isEqualTo(200);
            assertThat(r.headers()).containsEntry("x-served-by", "fake-b");
        }
        assertThat(streams.get()).isEqualTo(2);
        assertThat(connections).as("the retry went on a new connection").hasSize(2);

        goAwaysLeft.set(3);
        streams.set(0);
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            RawHttp.Response r = http.exchange(post(ORDERS.host(), ""));
            assertThat(r.status()).as("%s", r).isEqualTo(502);
            assertThat(r.reason()).isEqualTo("no-cluster-reachable");
            assertThat(r.body().split("GOAWAY", -1)).as("three attempts in the answer: %s", r.body()).hasSize(4);
        }
        assertThat(streams.get()).as("the first attempt and two more, all at b").isEqualTo(3);
    }

    /**
     * A peer draining its connections (its CA retired) may still end one under a stream it had taken: its GOAWAY
     * covers the stream, then the connection closes without an answer (a drain deadline, a stop). The peer is not
     * down, and only it exports the name here: an idempotent request held whole goes to it again on a new connection;
     * a POST, which it may have processed, is not repeated.
     */
    @Test
    void aStreamLostOnADrainingConnectionIsRetriedAtTheSameClusterOnlyWhenRetrySafe() throws Exception {
        AtomicInteger dropsLeft = new AtomicInteger(1);
        AtomicInteger streams = new AtomicInteger();
        CopyOnWriteArrayList<io.netty.channel.Channel> connections = new CopyOnWriteArrayList<>();
        fakeIngressOfB((ctx, h) -> {
            streams.incrementAndGet();
            io.netty.channel.Channel connection = ctx.channel().parent();
            connections.addIfAbsent(connection);
            if (dropsLeft.getAndDecrement() > 0) {
                int id = ((io.netty.handler.codec.http2.Http2StreamChannel) ctx.channel()).stream().id();
                rawGoAway(connection, id).addListener(f -> connection.close());
            } else {
                answerOk(ctx);
            }
        });
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            RawHttp.Response r = http.exchange(RawHttp.get("/order/7", ORDERS.host(), TOKEN));
            assertThat(r.status()).as("%s", r).isEqualTo(200);
            assertThat(r.headers()).containsEntry("x-served-by", "fake-b");
        }
        assertThat(streams.get()).isEqualTo(2);
        assertThat(connections).as("the retry went on a new connection").hasSize(2);

        dropsLeft.set(1);
        streams.set(0);
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            RawHttp.Response r = http.exchange(post(ORDERS.host(), ""));
            assertThat(r.status()).as("%s", r).isEqualTo(502);
            assertThat(r.body()).contains("while its connection was draining").contains("not retried: POST is not idempotent");
        }
        assertThat(streams.get()).as("the POST went out once").isEqualTo(1);
    }

    /**
     * A GOAWAY (NO_ERROR) whose last stream id is {@code lastStreamId}, written as raw bytes under the codec: the
     * codec's own GOAWAY would cover (and reset) every stream it has already seen.
     */
    private static io.netty.channel.ChannelFuture rawGoAway(io.netty.channel.Channel connection, int lastStreamId) {
        io.netty.buffer.ByteBuf goAway = connection.alloc().buffer(17).writeMedium(8).writeByte(0x7).writeByte(0)
                .writeInt(0).writeInt(lastStreamId).writeInt((int) Http2Error.NO_ERROR.code());
        return connection.pipeline().context(io.netty.handler.codec.http2.Http2FrameCodec.class).writeAndFlush(goAway);
    }

    /** The fake ingress's answer: 200, no body, served by fake-b. */
    private static void answerOk(io.netty.channel.ChannelHandlerContext ctx) {
        ctx.writeAndFlush(new io.netty.handler.codec.http2.DefaultHttp2HeadersFrame(
                new io.netty.handler.codec.http2.DefaultHttp2Headers().status("200")
                        .set("content-type", "text/plain").set("x-served-by", "fake-b"), true));
    }

    private static String post(String host, String body) {
        return "POST /order HTTP/1.1\r\nHost: " + host + "\r\n" + TOKEN + "\r\nContent-Length: " + body.length()
                + "\r\n\r\n" + body;
    }

    @Test
    void aConnectionLostAfterTheRequestWentOutIsRetriedElsewhereOnlyForAnIdempotentWholeRequest() throws Exception {
        AtomicInteger streams = new AtomicInteger();
        fakeIngressOfB(false, streams);
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            RawHttp.Response get = http.exchange(RawHttp.get("/order/7", ORDERS.host(), TOKEN));
            assertThat(get.status()).as("%s", get).isEqualTo(200);
            assertThat(get.body()).contains("cluster=c");
        }
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            RawHttp.Response empty = http.exchange(post(ORDERS.host(), ""));
            assertThat(empty.status()).as("POST may have been processed: %s", empty).isEqualTo(502);
            assertThat(empty.reason()).isEqualTo("upstream-failed");
            assertThat(empty.body()).contains("not retried: POST is not idempotent");
        }
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            RawHttp.Response withBody = http.exchange(post(ORDERS.host(), "{\"qty\":1}").replace("POST", "PUT"));
            assertThat(withBody.status()).as("a PUT whose body went out: %s", withBody).isEqualTo(502);
            assertThat(withBody.body()).contains("not retried: the request body was already streamed and is gone");
        }
        assertThat(streams.get()).isEqualTo(3);
        assertThat(fed.cluster("c").backendSawXfcc).hasSize(1);
    }

    @Test
    void aStreamThePeerRefusedUnprocessedIsRetriedElsewhereWhateverTheMethod() throws Exception {
        AtomicInteger streams = new AtomicInteger();
        fakeIngressOfB(true, streams);
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            RawHttp.Response r = http.exchange(post(ORDERS.host(), ""));
            assertThat(r.status()).as("%s", r).isEqualTo(200);
            assertThat(r.body()).contains("cluster=c");
        }
        assertThat(streams.get()).isEqualTo(1);
    }

    @Test
    void aClusterWhoseIngressRefusesConnectsIsSkippedAfterThreeOnly() throws Exception {
        fed.cluster("b").stopGateway();
        for (int i = 0; i < 20; i++) {
            try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
                RawHttp.Response r = http.exchange(RawHttp.get("/", Federation.PAYMENTS.host(), TOKEN));
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).contains("cluster=c");
            }
        }
        Federation.Cluster a = fed.cluster("a");
        assertThat(a.counter("isthmus_upstream_connect_failures_total", "direction", "egress", "cluster", "b"))
                .as("failed connects to b, over 20 calls").isEqualTo(3.0);
        assertThat(a.counter("isthmus_outlier_ejections_total", "cluster", "b")).isEqualTo(1.0);
    }
}
