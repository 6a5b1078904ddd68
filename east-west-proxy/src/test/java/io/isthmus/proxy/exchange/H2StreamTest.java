package io.isthmus.proxy.exchange;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.transport.NettyTransport;
import io.isthmus.proxy.upstream.H2Pool;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;

/**
 * An {@link H2Stream}, the HTTP/2 stream the gateway opens upstream without a child channel, against a real Netty h2c
 * server on loopback (frames over a real socket, the pool's real connection): a request and its response, a reset
 * either way, a GOAWAY that covers a stream and one that does not, the connection closing under open streams, a
 * reader that does not read (the sender is held to one stream window), the idle timer, and the stream count.
 */
class H2StreamTest {
    private final NioEventLoopGroup serverLoop = new NioEventLoopGroup(1);
    /** Streams whose request HEADERS reached the peer, in order. */
    private final BlockingQueue<ChannelHandlerContext> received = new LinkedBlockingQueue<>();
    /** RST_STREAM codes the peer received. */
    private final BlockingQueue<Long> resetsReceived = new LinkedBlockingQueue<>();
    private NettyTransport transport;
    private H2Pool pool;
    private InetSocketAddress peer;
    private EventLoop loop;

    private void start(ProxySettings settings, Long maxConcurrentStreams) throws InterruptedException {
        peer = (InetSocketAddress) new ServerBootstrap().group(serverLoop).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        Http2Settings initial = Http2Settings.defaultSettings();
                        if (maxConcurrentStreams != null) {
                            initial.maxConcurrentStreams(maxConcurrentStreams);
                        }
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forServer().initialSettings(initial).build(),
                                new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                                    @Override
                                    protected void initChannel(Http2StreamChannel s) {
                                        s.pipeline().addLast(new PeerStream());
                                    }
                                }));
                    }
                }).bind(InetAddress.getLoopbackAddress(), 0).sync().channel().localAddress();
        transport = NettyTransport.create(1, "h2stream-test");
        pool = new H2Pool(transport, null, settings);
        loop = transport.workers().next();
    }

    private void start() throws InterruptedException {
        start(ProxySettings.defaults(), null);
    }

    /** The peer's end of a stream: notes its HEADERS and resets; answers only when the test says so. */
    private final class PeerStream extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2HeadersFrame) {
                received.add(ctx);
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof Http2ResetFrame reset) {
                resetsReceived.add(reset.errorCode());
            }
            ReferenceCountUtil.release(evt);
        }
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (pool != null) {
            pool.close();
            transport.close();
        }
        serverLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    private <T> T onLoop(Callable<T> task) throws Exception {
        return loop.submit(task).get(5, TimeUnit.SECONDS);
    }

    /** A new stream, bound to a recorder, with a GET sent on it. */
    private Sent get(boolean relayAtOnce) throws Exception {
        H2Stream stream = onLoop(() -> pool.openStream(loop, peer)).get(5, TimeUnit.SECONDS);
        RecordingEvents events = new RecordingEvents(stream, relayAtOnce);
        onLoop(() -> {
            stream.bind(events);
            DefaultFullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/",
                    Unpooled.EMPTY_BUFFER);
            request.headers().set(HttpHeaderNames.HOST, "peer");
            stream.write(request);
            stream.flush();
            return null;
        });
        ChannelHandlerContext atPeer = received.poll(5, TimeUnit.SECONDS);
        assertThat(atPeer).as("the request reached the peer").isNotNull();
        return new Sent(stream, events, atPeer);
    }

    private record Sent(H2Stream stream, RecordingEvents events, ChannelHandlerContext atPeer) {
        Channel connection() {
            return stream.channel();
        }
    }

    private static void answer(ChannelHandlerContext atPeer, String body, boolean trailers) {
        atPeer.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200"), false));
        atPeer.write(new DefaultHttp2DataFrame(Unpooled.copiedBuffer(body, StandardCharsets.UTF_8), !trailers));
        if (trailers) {
            atPeer.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().add("grpc-status", "0"), true));
        }
        atPeer.flush();
    }

    private int openStreams(H2Stream s) throws Exception {
        return onLoop(() -> s.channel().pipeline().get(H2ClientStreams.class).openStreams());
    }

    @Test
    void aRequestAndItsResponseCrossAsFramesOnTheConnectionWithNoChildChannel() throws Exception {
        start();
        Sent sent = get(true);
        answer(sent.atPeer(), "hello", true);

        assertThat(sent.events().next(5)).isEqualTo("response 200");
        assertThat(sent.events().next(5)).isEqualTo("end trailers [grpc-status=0]");
        assertThat(sent.events().bodyBytes).hasValue(5);
        await().atMost(Duration.ofSeconds(5)).until(() -> sent.stream().ended());
        assertThat(sent.events().log).as("nothing more: no reset, no close reported").isEmpty();
        List<String> handlers = sent.connection().pipeline().names();
        assertThat(sent.connection().pipeline().get(Http2MultiplexHandler.class)).as(handlers.toString()).isNull();
        assertThat(sent.connection().pipeline().get(H2ClientStreams.class)).isNotNull();
        assertThat((Object) sent.stream()).isNotInstanceOf(Channel.class);
        assertThat(openStreams(sent.stream())).isZero();
        assertThat(resetsReceived).as("a stream that ended normally is not reset").isEmpty();
    }

    @Test
    void aStreamWhoseRequestHasEndedDoesNotHoldTheCallerBack() throws Exception {
        start();
        Sent sent = get(true);
        // A whole GET went out with END_STREAM: an exchange that found the stream not writable would pause its caller
        // until the response ended (two epoll_ctl per request at the egress, seen in counts.sh).
        assertThat(onLoop(() -> sent.stream().isWritable())).isTrue();
        answer(sent.atPeer(), "ok", false);
        assertThat(sent.events().next(5)).isEqualTo("response 200");
        assertThat(sent.events().next(5)).as("no writability event was needed").isEqualTo("end");
    }

    @Test
    void aResetFromThePeerEndsTheStreamOnceAndIsNotAnsweredWithOneOfOurs() throws Exception {
        start();
        Sent sent = get(true);
        sent.atPeer().writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.INTERNAL_ERROR));

        assertThat(sent.events().next(5)).isEqualTo("reset " + Http2Error.INTERNAL_ERROR.code());
        assertThat(sent.stream().ended()).isTrue();
        onLoop(() -> {
            sent.stream().close(); // the exchange lets go of it: nothing more to send
            return null;
        });
        assertThat(sent.events().next(1)).as("told once, not again as a close").isNull();
        assertThat(resetsReceived.poll(300, TimeUnit.MILLISECONDS)).isNull();
        assertThat(openStreams(sent.stream())).isZero();
    }

    @Test
    void aCallersResetResetsTheUpstreamStreamWithTheSameCode() throws Exception {
        start();
        Sent sent = get(true);
        onLoop(() -> {
            sent.stream().reset(Http2Error.CANCEL.code());
            return null;
        });

        assertThat(resetsReceived.poll(5, TimeUnit.SECONDS)).isEqualTo(Http2Error.CANCEL.code());
        assertThat(sent.stream().ended()).isTrue();
        assertThat(sent.events().next(1)).as("the exchange that reset it is not told").isNull();
        assertThat(openStreams(sent.stream())).isZero();
    }

    @Test
    void aGoAwayFailsOnlyTheStreamsAboveItsLastStreamIdAsUnprocessed() throws Exception {
        start();
        Sent first = get(true);
        Sent second = get(true);
        assertThat(first.connection()).isSameAs(second.connection());
        int processed = first.stream().id();
        assertThat(second.stream().id()).isGreaterThan(processed);

        // The peer processed the first only.
        Channel peerConnection = first.atPeer().channel().parent();
        peerConnection.eventLoop().submit(() -> {
            ChannelHandlerContext codec = peerConnection.pipeline().context(Http2FrameCodec.class);
            ((Http2FrameCodec) codec.handler()).goAway(codec, processed, Http2Error.NO_ERROR.code(),
                    Unpooled.EMPTY_BUFFER, codec.newPromise());
            codec.flush();
        }).get(5, TimeUnit.SECONDS);

        assertThat(second.events().next(5)).isEqualTo("going away: the peer sent GOAWAY ("
                + Http2Error.NO_ERROR.code() + ") before processing it");
        assertThat(second.stream().ended()).isTrue();
        assertThat(first.stream().ended()).as("the stream the GOAWAY covers goes on").isFalse();
        answer(first.atPeer(), "done", false);
        assertThat(first.events().next(5)).isEqualTo("response 200");
        assertThat(first.events().next(5)).isEqualTo("end");
        assertThat(second.events().next(1)).as("the unprocessed stream is told once").isNull();
        assertThat(resetsReceived.poll(300, TimeUnit.MILLISECONDS)).as("neither is reset").isNull();
    }

    @Test
    void theConnectionClosingUnderOpenStreamsTellsEachOnce() throws Exception {
        start();
        Sent first = get(true);
        Sent second = get(true);
        first.atPeer().channel().parent().close();

        assertThat(first.events().next(5)).isEqualTo("closed");
        assertThat(second.events().next(5)).isEqualTo("closed");
        assertThat(first.events().next(1)).isNull();
        assertThat(second.events().next(0)).isNull();
        assertThat(first.stream().ended()).isTrue();
        assertThat(second.stream().ended()).isTrue();
    }

    @Test
    void aReaderThatDoesNotReadHoldsTheSenderToOneStreamWindow() throws Exception {
        start();
        Sent sent = get(false);
        int megabyte = 1024 * 1024;
        AtomicLong peerWritten = new AtomicLong();
        sent.atPeer().executor().execute(() -> {
            sent.atPeer().write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200"), false));
            for (int i = 0; i < megabyte / 16384; i++) {
                boolean last = i == megabyte / 16384 - 1;
                sent.atPeer().write(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(new byte[16384]), last))
                        .addListener(f -> peerWritten.addAndGet(f.isSuccess() ? 16384 : 0));
            }
            sent.atPeer().flush();
        });
        assertThat(sent.events().next(5)).isEqualTo("response 200");
        await().atMost(Duration.ofSeconds(5)).until(() -> sent.events().bodyBytes.get() == 65_535);
        Thread.sleep(300);
        assertThat(sent.events().bodyBytes).as("one stream window (65,535 bytes) and no more").hasValue(65_535);
        assertThat(peerWritten.get()).as("the rest waits at the sender").isLessThan(megabyte);

        // The caller takes it: the window goes back, and the rest follows.
        onLoop(() -> {
            sent.stream().giveBack(65_535);
            return null;
        });
        await().atMost(Duration.ofSeconds(5)).until(() -> sent.events().bodyBytes.get() >= 2 * 65_535 - 16384);
        assertThat(sent.events().bodyBytes.get()).isLessThanOrEqualTo(2 * 65_535);
    }

    @Test
    void aStreamOnWhichNothingMovesIsIdleAfterTheRequestTimeout() throws Exception {
        start(ProxySettings.defaults().withRequestTimeout(Duration.ofMillis(300)), null);
        Sent sent = get(true);
        long begun = System.nanoTime();
        assertThat(sent.events().next(5)).isEqualTo("idle");
        assertThat(Duration.ofNanos(System.nanoTime() - begun)).isLessThan(Duration.ofSeconds(2));
        onLoop(() -> {
            sent.stream().close();
            return null;
        });
        assertThat(resetsReceived.poll(5, TimeUnit.SECONDS)).as("let go unfinished: reset")
                .isEqualTo(Http2Error.CANCEL.code());
    }

    @Test
    void anEndedStreamFreesItsPlaceUnderThePeersStreamLimit() throws Exception {
        start(ProxySettings.defaults(), 1L);
        Sent first = get(true);
        first.atPeer().writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.REFUSED_STREAM));
        assertThat(first.events().next(5)).isEqualTo("reset " + Http2Error.REFUSED_STREAM.code());
        Sent second = get(true);
        assertThat(second.connection()).as("the one place on the connection is free again")
                .isSameAs(first.connection());
        answer(second.atPeer(), "ok", false);
        assertThat(second.events().next(5)).isEqualTo("response 200");
        assertThat(pool.openConnections()).isEqualTo(1);
    }
}
