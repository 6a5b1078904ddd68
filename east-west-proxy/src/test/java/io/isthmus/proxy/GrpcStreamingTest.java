package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.isthmus.registry.ExportedService;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.Locality;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;

/**
 * Streaming gRPC through both hops (caller --h2/TLS--> a's egress --h2/mTLS--> b's ingress --h2c--> grpc-java
 * backend): frames are relayed as they arrive, not aggregated. The gateways run with a 64 KiB body limit, which a
 * streaming call must exceed, and a 5 s request (stream idle) timeout, far above any pause the tests make; the two
 * tests about the idle cut-off run gateways with a short one.
 */
class GrpcStreamingTest {
    private static final MeshName FEED = MeshName.of("feed", "news");
    private static final String AUTHORITY = "feed.news.svc.clusterset.local";
    /** Longer than any pause of the tests, so that a stalled machine does not end their streams. */
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
    private static final int MAX_BODY = 64 * 1024;
    private static final long WAIT = 10;

    private static final MethodDescriptor.Marshaller<byte[]> BYTES = GrpcBytes.MARSHALLER;

    private static MethodDescriptor<byte[], byte[]> method(String name, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<byte[], byte[]>newBuilder().setType(type)
                .setFullMethodName("isthmus.test.Feed/" + name).setRequestMarshaller(BYTES)
                .setResponseMarshaller(BYTES).build();
    }

    /** Sends "n" messages, waiting for the test's go-ahead after the first one. */
    private static final MethodDescriptor<byte[], byte[]> WATCH = method("Watch",
            MethodDescriptor.MethodType.SERVER_STREAMING);
    /** Sends "count,intervalMs" messages at that interval. */
    private static final MethodDescriptor<byte[], byte[]> TICKS = method("Ticks",
            MethodDescriptor.MethodType.SERVER_STREAMING);
    /** Answers with the number of messages and bytes received. */
    private static final MethodDescriptor<byte[], byte[]> SUM = method("Sum",
            MethodDescriptor.MethodType.CLIENT_STREAMING);
    /** Echoes every message, prefixed with "pong ". */
    private static final MethodDescriptor<byte[], byte[]> CHAT = method("Chat",
            MethodDescriptor.MethodType.BIDI_STREAMING);
    /** Sends one message, then fails the call with ABORTED. */
    private static final MethodDescriptor<byte[], byte[]> ABORT = method("Abort",
            MethodDescriptor.MethodType.SERVER_STREAMING);
    /** Echoes the first message; the application code throws on the second (grpc-java resets the stream). */
    private static final MethodDescriptor<byte[], byte[]> EXPLODE = method("Explode",
            MethodDescriptor.MethodType.BIDI_STREAMING);
    /** Sends a message every 50 ms until the caller cancels. */
    private static final MethodDescriptor<byte[], byte[]> ENDLESS = method("Endless",
            MethodDescriptor.MethodType.SERVER_STREAMING);

    /** Sends FLOOD_MESSAGES messages of 16 KiB as fast as the stream takes them (isReady). */
    private static final MethodDescriptor<byte[], byte[]> FLOOD = method("Flood",
            MethodDescriptor.MethodType.SERVER_STREAMING);
    private static final int FLOOD_MESSAGES = 300;

    private static final Metadata.Key<String> XFCC = Metadata.Key.of("x-forwarded-client-cert",
            Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization",
            Metadata.ASCII_STRING_MARSHALLER);

    private Federation fed;
    private Server backend;
    private final List<String> backendSawCalls = new CopyOnWriteArrayList<>();
    private final List<String> backendSawAuthorization = new CopyOnWriteArrayList<>();
    private final CountDownLatch clientSawFirst = new CountDownLatch(1);
    private final AtomicBoolean watchSentLast = new AtomicBoolean();
    private final CountDownLatch endlessCancelled = new CountDownLatch(1);
    private final AtomicInteger floodSent = new AtomicInteger();
    private final CountDownLatch floodBlocked = new CountDownLatch(1);

    @BeforeEach
    void start() throws Exception {
        ServerServiceDefinition service = ServerServiceDefinition.builder("isthmus.test.Feed")
                .addMethod(WATCH, ServerCalls.asyncServerStreamingCall((request, out) -> {
                    int n = Integer.parseInt(text(request));
                    out.onNext(utf8("item 1"));
                    try {
                        // Holds the rest back until the client has seen the first item: an aggregating gateway
                        // would deliver nothing until the call ended, and this wait would time out.
                        if (!clientSawFirst.await(WAIT, TimeUnit.SECONDS)) {
                            out.onError(Status.DEADLINE_EXCEEDED.withDescription("client never saw item 1")
                                    .asRuntimeException());
                            return;
                        }
                        for (int i = 2; i <= n; i++) {
                            Thread.sleep(100);
                            if (i == n) {
                                watchSentLast.set(true);
                            }
                            out.onNext(utf8("item " + i));
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    out.onCompleted();
                }))
                .addMethod(TICKS, ServerCalls.asyncServerStreamingCall((request, out) -> {
                    String[] spec = text(request).split(",");
                    try {
                        for (int i = 1; i <= Integer.parseInt(spec[0]); i++) {
                            Thread.sleep(Long.parseLong(spec[1]));
                            out.onNext(utf8("tick " + i));
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    out.onCompleted();
                }))
                .addMethod(SUM, ServerCalls.asyncClientStreamingCall(out -> new StreamObserver<byte[]>() {
                    private int messages;
                    private long bytes;

                    @Override
                    public void onNext(byte[] value) {
                        messages++;
                        bytes += value.length;
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                        out.onNext(utf8(messages + " messages, " + bytes + " bytes"));
                        out.onCompleted();
                    }
                }))
                .addMethod(CHAT, ServerCalls.asyncBidiStreamingCall(out -> new StreamObserver<byte[]>() {
                    @Override
                    public void onNext(byte[] value) {
                        byte[] pong = new byte[value.length + 5];
                        System.arraycopy(utf8("pong "), 0, pong, 0, 5);
                        System.arraycopy(value, 0, pong, 5, value.length);
                        out.onNext(pong);
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                        out.onCompleted();
                    }
                }))
                .addMethod(ABORT, ServerCalls.asyncServerStreamingCall((request, out) -> {
                    out.onNext(utf8("partial"));
                    out.onError(Status.ABORTED.withDescription("backend gave up").asRuntimeException());
                }))
                .addMethod(EXPLODE, ServerCalls.asyncBidiStreamingCall(out -> new StreamObserver<byte[]>() {
                    private int seen;

                    @Override
                    public void onNext(byte[] value) {
                        if (++seen > 1) {
                            throw new IllegalStateException("backend bug");
                        }
                        out.onNext(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                        out.onCompleted();
                    }
                }))
                .addMethod(ENDLESS, ServerCalls.asyncServerStreamingCall((request, out) -> {
                    ServerCallStreamObserver<byte[]> call = (ServerCallStreamObserver<byte[]>) out;
                    call.setOnCancelHandler(endlessCancelled::countDown);
                    Thread pump = new Thread(() -> {
                        try {
                            for (int i = 0; !call.isCancelled() && i < 400; i++) {
                                call.onNext(utf8("beat " + i));
                                Thread.sleep(50);
                            }
                        } catch (InterruptedException | RuntimeException e) {
                            // Cancelled: onNext throws once the call is gone.
                        }
                    });
                    pump.setDaemon(true);
                    pump.start();
                }))
                .addMethod(FLOOD, ServerCalls.asyncServerStreamingCall((request, out) -> {
                    ServerCallStreamObserver<byte[]> call = (ServerCallStreamObserver<byte[]>) out;
                    Runnable pump = new Runnable() {
                        private boolean done;

                        @Override
                        public synchronized void run() {
                            while (!done && call.isReady()) {
                                if (floodSent.get() == FLOOD_MESSAGES) {
                                    done = true;
                                    call.onCompleted();
                                    return;
                                }
                                call.onNext(new byte[16 * 1024]);
                                floodSent.incrementAndGet();
                            }
                            if (!done) {
                                floodBlocked.countDown();
                            }
                        }
                    };
                    call.setOnReadyHandler(pump);
                    pump.run();
                }))
                .build();
        ServerInterceptor record = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                    ServerCallHandler<Q, R> next) {
                backendSawCalls.add(call.getMethodDescriptor().getBareMethodName() + " " + headers.get(XFCC));
                if (headers.containsKey(AUTHORIZATION)) {
                    backendSawAuthorization.add(headers.get(AUTHORIZATION));
                }
                return next.startCall(call, headers);
            }
        };
        backend = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .maxInboundMessageSize(4 * 1024 * 1024)
                .addService(ServerInterceptors.intercept(service, record)).build().start();
        startGateways(REQUEST_TIMEOUT);
    }

    /** (Re)starts the federation with gateways whose streams end after {@code requestTimeout} without frames. */
    private void startGateways(Duration requestTimeout) throws Exception {
        if (fed != null) {
            fed.close();
        }
        fed = Federation.start(new ProxySettings(MeshName.DEFAULT_SUFFIX, Duration.ofSeconds(1),
                Duration.ofSeconds(10), Duration.ofSeconds(1), requestTimeout, 8192, MAX_BODY));
        fed.exportGrpcFromB(FEED, backend.getPort());
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (backend != null) {
            backend.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        fed.close();
    }

    private ManagedChannel channel(String caller) throws Exception {
        return fed.grpcChannel(caller, FEED, 4 * 1024 * 1024);
    }

    private static CallOptions deadline() {
        return CallOptions.DEFAULT.withDeadlineAfter(WAIT, TimeUnit.SECONDS);
    }

    @Test
    void serverStreamDeliversTheFirstMessageBeforeTheBackendSentTheLast() throws Exception {
        ManagedChannel channel = channel(Federation.CHECKOUT);
        try {
            Iterator<byte[]> items = ClientCalls.blockingServerStreamingCall(channel, WATCH, deadline(), utf8("5"));
            assertThat(text(items.next())).isEqualTo("item 1");
            assertThat(watchSentLast).as("the backend had already sent the last item").isFalse();
            clientSawFirst.countDown();
            List<String> rest = new java.util.ArrayList<>();
            items.forEachRemaining(m -> rest.add(text(m)));
            assertThat(rest).containsExactly("item 2", "item 3", "item 4", "item 5");
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        assertThat(backendSawCalls).containsExactly(
                "Watch By=spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway;URI=" + Federation.CHECKOUT);
        // Counted once the call ended, with its final statuses, on both gateways.
        await().atMost(Duration.ofSeconds(WAIT)).untilAsserted(() -> {
            assertThat(fed.cluster("a").counter("isthmus_grpc_calls_total", "direction", "egress", "grpc_status",
                    "0")).isEqualTo(1.0);
            assertThat(fed.cluster("b").counter("isthmus_grpc_calls_total", "direction", "ingress", "grpc_status",
                    "0")).isEqualTo(1.0);
            assertThat(fed.cluster("b").counter("isthmus_requests_total", "direction", "ingress", "code", "200",
                    "source_cluster", "a", "destination_cluster", "b", "source_trust_domain", "a.acme.internal"))
                    .isEqualTo(1.0);
            assertThat(fed.cluster("a").counter("isthmus_requests_total", "direction", "egress", "code", "200",
                    "source_cluster", "a", "destination_cluster", "b", "source_trust_domain", "a.acme.internal"))
                    .isEqualTo(1.0);
        });
    }

    @Test
    void clientStreamAndBidiPingPongCrossBothHops() throws Exception {
        ManagedChannel channel = channel(Federation.CHECKOUT);
        try {
            CompletableFuture<String> sum = new CompletableFuture<>();
            StreamObserver<byte[]> requests = ClientCalls.asyncClientStreamingCall(
                    channel.newCall(SUM, deadline()), observer(sum, null));
            for (int i = 0; i < 20; i++) {
                requests.onNext(new byte[100]);
            }
            requests.onCompleted();
            assertThat(sum.get(WAIT, TimeUnit.SECONDS)).isEqualTo("20 messages, 2000 bytes");

            // Ping-pong: each reply triggers the next request, so every message crossed both hops on its own.
            CompletableFuture<String> done = new CompletableFuture<>();
            List<String> pongs = new CopyOnWriteArrayList<>();
            AtomicInteger sent = new AtomicInteger();
            @SuppressWarnings("unchecked")
            StreamObserver<byte[]>[] chat = new StreamObserver[1];
            chat[0] = ClientCalls.asyncBidiStreamingCall(channel.newCall(CHAT, deadline()),
                    observer(done, reply -> {
                        pongs.add(reply);
                        if (sent.get() < 5) {
                            chat[0].onNext(utf8("ping " + sent.getAndIncrement()));
                        } else {
                            chat[0].onCompleted();
                        }
                    }));
            chat[0].onNext(utf8("ping " + sent.getAndIncrement()));
            done.get(WAIT, TimeUnit.SECONDS);
            assertThat(pongs).containsExactly("pong ping 0", "pong ping 1", "pong ping 2", "pong ping 3",
                    "pong ping 4");
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        assertThat(backendSawCalls).hasSize(2).allSatisfy(c -> assertThat(c).endsWith("URI=" + Federation.CHECKOUT));
    }

    @Test
    void plaintextH2cCallerStreamsWithItsBearerToken() throws Exception {
        InetSocketAddress egress = fed.cluster("a").egress.address();
        Metadata token = new Metadata();
        token.put(AUTHORIZATION, "Bearer checkout");
        ManagedChannel channel = NettyChannelBuilder.forAddress(egress.getHostString(), egress.getPort())
                .overrideAuthority(AUTHORITY).usePlaintext()
                .intercept(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(token)).build();
        try {
            Iterator<byte[]> items = ClientCalls.blockingServerStreamingCall(channel, WATCH, deadline(), utf8("3"));
            assertThat(text(items.next())).isEqualTo("item 1");
            clientSawFirst.countDown();
            List<String> rest = new java.util.ArrayList<>();
            items.forEachRemaining(m -> rest.add(text(m)));
            assertThat(rest).containsExactly("item 2", "item 3");
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        // The token was checked, then dropped: the backend sees the verified caller, not the credential.
        assertThat(backendSawCalls).containsExactly(
                "Watch By=spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway;URI=" + Federation.CHECKOUT);
        assertThat(backendSawAuthorization).isEmpty();
    }

    @Test
    void streamLivingLongerThanTheRequestTimeoutStaysOpenWhileItSends() throws Exception {
        Duration idle = Duration.ofSeconds(2);
        startGateways(idle);
        ManagedChannel channel = channel(Federation.CHECKOUT);
        try {
            long started = System.nanoTime();
            // 10 ticks 250 ms apart: 2.5 s in all, longer than the gateways' 2 s limit, which only a pause of
            // 1.75 s between two ticks would reach.
            Iterator<byte[]> ticks = ClientCalls.blockingServerStreamingCall(channel, TICKS, deadline(),
                    utf8("10,250"));
            List<String> got = new java.util.ArrayList<>();
            ticks.forEachRemaining(m -> got.add(text(m)));
            assertThat(got).hasSize(10).endsWith("tick 10");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThan(idle);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void silentStreamIsEndedAfterTheIdleTimeout() throws Exception {
        startGateways(Duration.ofSeconds(1));
        ManagedChannel channel = channel(Federation.CHECKOUT);
        try {
            // The first tick comes after 6 s of silence: the gateways give up after 1 s without frames.
            Iterator<byte[]> ticks = ClientCalls.blockingServerStreamingCall(channel, TICKS, deadline(),
                    utf8("1,6000"));
            assertThatThrownBy(ticks::next).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
                assertThat(e.getStatus().getDescription()).contains("isthmus gateway").contains("no frames");
            });
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void deniedStreamingCallIsPermissionDeniedAndReachesNoBackend() throws Exception {
        ManagedChannel channel = channel(Federation.CART);
        try {
            CompletableFuture<String> done = new CompletableFuture<>();
            StreamObserver<byte[]> chat = ClientCalls.asyncBidiStreamingCall(channel.newCall(CHAT, deadline()),
                    observer(done, null));
            chat.onNext(utf8("ping"));
            assertThatThrownBy(() -> done.get(WAIT, TimeUnit.SECONDS)).cause()
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                        assertThat(e.getStatus().getDescription()).contains("HTTP status code 403")
                                .contains("x-isthmus-reason=no-matching-allow");
                    });
            assertThatThrownBy(() -> ClientCalls.blockingServerStreamingCall(channel, WATCH, deadline(), utf8("5"))
                    .next()).isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        assertThat(backendSawCalls).isEmpty();
        assertThat(fed.logged).hasSize(2);
    }

    @Test
    void backendFailingMidStreamEndsOnlyThatCall() throws Exception {
        ManagedChannel channel = channel(Federation.CHECKOUT);
        try {
            Iterator<byte[]> aborted = ClientCalls.blockingServerStreamingCall(channel, ABORT, deadline(), utf8(""));
            assertThat(text(aborted.next())).isEqualTo("partial");
            assertThatThrownBy(aborted::next).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.ABORTED);
                assertThat(e.getStatus().getDescription()).isEqualTo("backend gave up");
            });

            // The backend's application code throws mid-stream: grpc-java ends the call with UNKNOWN trailers.
            CompletableFuture<String> exploded = new CompletableFuture<>();
            List<String> echoed = new CopyOnWriteArrayList<>();
            StreamObserver<byte[]> explode = ClientCalls.asyncBidiStreamingCall(
                    channel.newCall(EXPLODE, deadline()), observer(exploded, echoed::add));
            explode.onNext(utf8("one"));
            await().atMost(Duration.ofSeconds(WAIT)).until(() -> echoed.contains("one"));
            explode.onNext(utf8("two"));
            assertThatThrownBy(() -> exploded.get(WAIT, TimeUnit.SECONDS)).cause()
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNKNOWN));

            // The same caller connection and the same gateway connection carry the next call.
            Iterator<byte[]> ticks = ClientCalls.blockingServerStreamingCall(channel, TICKS, deadline(),
                    utf8("2,10"));
            List<String> got = new java.util.ArrayList<>();
            ticks.forEachRemaining(m -> got.add(text(m)));
            assertThat(got).containsExactly("tick 1", "tick 2");
            assertThat(fed.cluster("a").egress.openH2PeerConnections()).isEqualTo(1);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void backendResetMidStreamResetsTheCallersStream() throws Exception {
        // A raw HTTP/2 backend: answers one gRPC message, then resets the stream when the test says so.
        AtomicInteger rawCalls = new AtomicInteger();
        CompletableFuture<io.netty.channel.Channel> rawStream = new CompletableFuture<>();
        io.netty.channel.EventLoopGroup rawLoop = new io.netty.channel.nio.NioEventLoopGroup(1);
        try {
            io.netty.channel.Channel raw = new io.netty.bootstrap.ServerBootstrap().group(rawLoop)
                    .channel(io.netty.channel.socket.nio.NioServerSocketChannel.class)
                    .childHandler(new io.netty.channel.ChannelInitializer<io.netty.channel.socket.SocketChannel>() {
                        @Override
                        protected void initChannel(io.netty.channel.socket.SocketChannel ch) {
                            ch.pipeline().addLast(Http2FrameCodecBuilder.forServer().build(),
                                    new Http2MultiplexHandler(new io.netty.channel.ChannelInitializer<
                                            io.netty.handler.codec.http2.Http2StreamChannel>() {
                                        @Override
                                        protected void initChannel(io.netty.handler.codec.http2.Http2StreamChannel s) {
                                            s.pipeline().addLast(new io.netty.channel.ChannelInboundHandlerAdapter() {
                                                @Override
                                                public void channelRead(io.netty.channel.ChannelHandlerContext ctx,
                                                        Object msg) {
                                                    if (msg instanceof Http2HeadersFrame) {
                                                        rawCalls.incrementAndGet();
                                                        ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers()
                                                                .status("200").set("content-type", "application/grpc")));
                                                        ctx.writeAndFlush(new DefaultHttp2DataFrame(
                                                                grpcMessage(ctx.alloc(), "before reset")));
                                                        rawStream.complete(ctx.channel());
                                                    }
                                                    io.netty.util.ReferenceCountUtil.release(msg);
                                                }
                                            });
                                        }
                                    }));
                        }
                    }).bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
            MeshName rst = MeshName.of("rst", "news");
            fed.extraBackends.put(rst.host(), (InetSocketAddress) raw.localAddress());
            fed.export(fed.cluster("b"), rst, new ServicePort("grpc", 9090, Protocol.GRPC));
            ManagedChannel channel = channel(Federation.CHECKOUT);
            ManagedChannel rstChannel = NettyChannelBuilder.forAddress(
                    fed.cluster("a").egress.address().getHostString(), fed.cluster("a").egress.address().getPort())
                    .overrideAuthority(rst.host()).usePlaintext()
                    .intercept(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(bearer("checkout"))).build();
            try {
                Iterator<byte[]> items = ClientCalls.blockingServerStreamingCall(rstChannel,
                        method("Reset", MethodDescriptor.MethodType.SERVER_STREAMING), deadline(), utf8(""));
                assertThat(text(items.next())).isEqualTo("before reset");
                io.netty.channel.Channel stream = rawStream.get(WAIT, TimeUnit.SECONDS);
                stream.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.INTERNAL_ERROR));
                // RST_STREAM INTERNAL_ERROR crossed both hops with its code: grpc-java reports INTERNAL.
                assertThatThrownBy(items::next).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
                    assertThat(e.getStatus().getDescription()).contains("RST_STREAM").contains("INTERNAL_ERROR");
                });
                assertThat(rawCalls.get()).isEqualTo(1);
                // The gateways' connections survived the reset: the next call takes the same gateway connection.
                Iterator<byte[]> ticks = ClientCalls.blockingServerStreamingCall(channel, TICKS, deadline(),
                        utf8("2,10"));
                List<String> got = new java.util.ArrayList<>();
                ticks.forEachRemaining(m -> got.add(text(m)));
                assertThat(got).containsExactly("tick 1", "tick 2");
                assertThat(fed.cluster("a").egress.openH2PeerConnections()).isEqualTo(1);
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                rstChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            raw.close().sync();
        } finally {
            rawLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    private static io.netty.buffer.ByteBuf grpcMessage(io.netty.buffer.ByteBufAllocator alloc, String payload) {
        byte[] bytes = utf8(payload);
        return alloc.buffer(5 + bytes.length).writeByte(0).writeInt(bytes.length).writeBytes(bytes);
    }

    private static Metadata bearer(String token) {
        Metadata metadata = new Metadata();
        metadata.put(AUTHORIZATION, "Bearer " + token);
        return metadata;
    }

    @Test
    void callerCancellingMidStreamCancelsTheBackendCall() throws Exception {
        ManagedChannel channel = channel(Federation.CHECKOUT);
        try {
            LinkedBlockingQueue<String> beats = new LinkedBlockingQueue<>();
            ClientCall<byte[], byte[]> call = channel.newCall(ENDLESS, deadline());
            CompletableFuture<Status> closed = new CompletableFuture<>();
            call.start(new ClientCall.Listener<>() {
                @Override
                public void onMessage(byte[] message) {
                    beats.add(text(message));
                    call.request(1);
                }

                @Override
                public void onClose(Status status, Metadata trailers) {
                    closed.complete(status);
                }
            }, new Metadata());
            call.request(1);
            call.sendMessage(utf8(""));
            call.halfClose();
            assertThat(beats.poll(WAIT, TimeUnit.SECONDS)).isEqualTo("beat 0");
            assertThat(beats.poll(WAIT, TimeUnit.SECONDS)).isEqualTo("beat 1");
            call.cancel("caller is done", null);
            assertThat(endlessCancelled.await(WAIT, TimeUnit.SECONDS)).as("backend saw the cancellation").isTrue();
            assertThat(closed.get(WAIT, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void messagesLargerThanTheBodyLimitStreamThrough() throws Exception {
        ManagedChannel channel = channel(Federation.CHECKOUT);
        try {
            byte[] big = new byte[1024 * 1024];
            new java.util.Random(7).nextBytes(big);
            assertThat(big.length).isGreaterThan(MAX_BODY);

            CompletableFuture<String> done = new CompletableFuture<>();
            List<byte[]> replies = new CopyOnWriteArrayList<>();
            StreamObserver<byte[]> chat = ClientCalls.asyncBidiStreamingCall(channel.newCall(CHAT, deadline()),
                    new StreamObserver<>() {
                        @Override
                        public void onNext(byte[] value) {
                            replies.add(value);
                        }

                        @Override
                        public void onError(Throwable t) {
                            done.completeExceptionally(t);
                        }

                        @Override
                        public void onCompleted() {
                            done.complete("ok");
                        }
                    });
            chat.onNext(big);
            chat.onNext(big);
            chat.onCompleted();
            assertThat(done.get(WAIT, TimeUnit.SECONDS)).isEqualTo("ok");
            assertThat(replies).hasSize(2).allSatisfy(r -> {
                assertThat(r).hasSize(big.length + 5);
                assertThat(Arrays.copyOfRange(r, 5, r.length)).isEqualTo(big);
            });
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void slowCallerHoldsBackTheBackendThroughBothHops() throws Exception {
        X509Svid svid = TestCa.svid(fed.cluster("a").ca, Federation.CHECKOUT);
        InetSocketAddress egress = fed.cluster("a").egress.address();
        // A 64 KiB window without BDP tuning: the caller takes no more than that unless it reads.
        ManagedChannel channel = NettyChannelBuilder.forAddress(egress.getHostString(), egress.getPort())
                .overrideAuthority(AUTHORITY).flowControlWindow(65535)
                .sslContext(GrpcSslContexts.forClient()
                        .keyManager(svid.key(), svid.chain().toArray(java.security.cert.X509Certificate[]::new))
                        .trustManager(new SpiffeTrustManager(fed.cluster("a").verifier(), PeerPolicy.anyFederated()))
                        .build())
                .build();
        try {
            AtomicInteger received = new AtomicInteger();
            CompletableFuture<Status> closed = new CompletableFuture<>();
            ClientCall<byte[], byte[]> call = channel.newCall(FLOOD, deadline());
            call.start(new ClientCall.Listener<>() {
                @Override
                public void onMessage(byte[] message) {
                    received.incrementAndGet();
                }

                @Override
                public void onClose(Status status, Metadata trailers) {
                    closed.complete(status);
                }
            }, new Metadata());
            call.request(1);
            call.sendMessage(new byte[0]);
            call.halfClose();
            assertThat(floodBlocked.await(WAIT, TimeUnit.SECONDS)).as("the backend had to wait").isTrue();
            // The stalled stream holds its windows on every connection it crosses, but not the connections' windows:
            // another call on the same connections still gets through, while the stalled one is still open.
            CompletableFuture<String> chatDone = new CompletableFuture<>();
            StreamObserver<byte[]> chat = ClientCalls.asyncBidiStreamingCall(channel.newCall(CHAT, deadline()),
                    observer(chatDone, null));
            chat.onNext(utf8("meanwhile"));
            chat.onCompleted();
            assertThat(chatDone.get(WAIT, TimeUnit.SECONDS)).isEqualTo("pong meanwhile");
            assertThat(closed).as("the stalled call was still open").isNotDone();
            // While the caller reads one message only, the backend stays blocked: the gateways buffer about one
            // stream window per hop, not the 4.8 MiB the backend wants to send. (Far shorter than the 5 s idle
            // timeout, which ends a stream only after 5 s without a frame.)
            await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
                    .until(() -> floodSent.get() < FLOOD_MESSAGES);
            assertThat(received.get()).isEqualTo(1);
            assertThat(floodSent.get()).as("16 KiB messages in flight").isLessThan(64);
            call.request(FLOOD_MESSAGES);
            assertThat(closed.get(WAIT, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
            assertThat(received.get()).isEqualTo(FLOOD_MESSAGES);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void unreachableNearerClusterIsSkippedBeforeTheStreamOpens() throws Exception {
        int closedPort;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = probe.getLocalPort();
        }
        // Same zone as a: the nearest export, but nothing listens there.
        fed.exportAs(Federation.DEAD, closedPort, new Locality("eu", "eu-1a"), FEED,
                new ServicePort("grpc", 9090, Protocol.GRPC));
        assertThat(fed.exportsOf(FEED)).first().satisfies(e -> assertThat(e.key().cluster()).isEqualTo(Federation.DEAD));
        ManagedChannel channel = channel(Federation.CHECKOUT);
        try {
            CompletableFuture<String> done = new CompletableFuture<>();
            List<String> pongs = new CopyOnWriteArrayList<>();
            StreamObserver<byte[]> chat = ClientCalls.asyncBidiStreamingCall(channel.newCall(CHAT, deadline()),
                    observer(done, pongs::add));
            chat.onNext(utf8("first"));
            chat.onNext(utf8("second"));
            chat.onCompleted();
            done.get(WAIT, TimeUnit.SECONDS);
            assertThat(pongs).containsExactly("pong first", "pong second");
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        assertThat(fed.cluster("a").counter("isthmus_upstream_connect_failures_total", "direction", "egress"))
                .isGreaterThanOrEqualTo(1.0);
        assertThat(backendSawCalls).singleElement().asString().startsWith("Chat By=spiffe://b.acme.internal/");
    }

    /** Completes {@code done} with the last message (or "") on completion, exceptionally on error. */
    private static StreamObserver<byte[]> observer(CompletableFuture<String> done,
            java.util.function.Consumer<String> each) {
        return new StreamObserver<>() {
            private String last = "";

            @Override
            public void onNext(byte[] value) {
                last = text(value);
                if (each != null) {
                    each.accept(last);
                }
            }

            @Override
            public void onError(Throwable t) {
                done.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                done.complete(last);
            }
        };
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
