package io.isthmus.proxy.exchange;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.RawH2Server;
import io.isthmus.proxy.tls.ConnectionDrain;
import io.isthmus.proxy.transport.NettyTransport;
import io.isthmus.proxy.upstream.H2Pool;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;

/**
 * A pooled HTTP/2 connection that drains (its peer's signer was retired: {@link ConnectionDrain}, as revalidation
 * does it) takes no new stream, finishes the one in flight, then closes; and draining connections, which may live on
 * for the drain timeout, do not use up the pool's connections to that address. Real sockets against a Netty h2c peer
 * that answers a stream only when the test says so.
 */
class H2PoolDrainTest {
    private final NioEventLoopGroup serverLoop = new NioEventLoopGroup(1);
    private final BlockingQueue<ChannelHandlerContext> unanswered = new LinkedBlockingQueue<>();
    private NettyTransport transport;
    private H2Pool pool;
    private InetSocketAddress peer;

    @BeforeEach
    void start() throws InterruptedException {
        peer = RawH2Server.bind(serverLoop, null, (ctx, headers) -> unanswered.add(ctx));
        transport = NettyTransport.create(1, "h2pool-drain-test");
        pool = new H2Pool(transport, null, ProxySettings.defaults());
    }

    @AfterEach
    void stop() throws InterruptedException {
        pool.close();
        transport.close();
        serverLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    /** A request on a new stream; {@link #status} is what it was answered (or how it ended). */
    private record Call(H2Stream stream, RecordingEvents events) {
        Channel connection() {
            return stream.channel();
        }

        String status() throws InterruptedException {
            return events.next(5);
        }
    }

    private Call call() throws Exception {
        // On the loop, as openStream requires: the pool's per-loop state is the loop's alone.
        EventLoop loop = transport.workers().next();
        H2Stream stream = loop.submit(() -> pool.openStream(loop, peer)).get(5, TimeUnit.SECONDS)
                .get(5, TimeUnit.SECONDS);
        RecordingEvents events = new RecordingEvents(stream, true);
        loop.submit(() -> {
            stream.bind(events);
            DefaultFullHttpRequest get = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/",
                    Unpooled.EMPTY_BUFFER);
            get.headers().set(HttpHeaderNames.HOST, "peer");
            return stream.write(get);
        }).get(5, TimeUnit.SECONDS);
        loop.execute(stream::flush);
        return new Call(stream, events);
    }

    /** Answers the oldest stream the peer has not answered yet, waiting for it to arrive. */
    private void answerOne() throws InterruptedException {
        ChannelHandlerContext ctx = unanswered.poll(5, TimeUnit.SECONDS);
        assertThat(ctx).as("a stream reached the peer").isNotNull();
        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200"), true));
    }

    private static void drain(Channel connection) {
        connection.eventLoop().execute(() -> ConnectionDrain.drain(connection, Duration.ofSeconds(30)));
    }

    @Test
    void aDrainingConnectionFinishesItsStreamAndNewStreamsGoOnAnotherConnection() throws Exception {
        Call inFlight = call();
        await().atMost(Duration.ofSeconds(5)).until(() -> unanswered.size() == 1);
        drain(inFlight.connection());
        await().atMost(Duration.ofSeconds(5)).until(() -> ConnectionDrain.isDraining(inFlight.connection()));

        Call next = call();
        assertThat(next.connection()).as("a new stream after the drain").isNotSameAs(inFlight.connection());
        answerOne();
        answerOne();
        assertThat(inFlight.status()).as("the stream in flight finishes").isEqualTo("response 200");
        assertThat(next.status()).isEqualTo("response 200");
        assertThat(inFlight.connection().closeFuture().await(5, TimeUnit.SECONDS))
                .as("the drained connection closes once its last stream ended").isTrue();
        assertThat(next.connection().isActive()).isTrue();
    }

    @Test
    void drainingConnectionsDoNotUseUpThePoolsConnectionsToAnAddress() throws Exception {
        List<Call> held = new ArrayList<>();
        for (int i = 0; i < H2Pool.MAX_CONNECTIONS + 1; i++) {
            Call c = call();
            held.add(c);
            int reached = i + 1;
            await().atMost(Duration.ofSeconds(5)).until(() -> unanswered.size() == reached);
            drain(c.connection());
            await().atMost(Duration.ofSeconds(5)).until(() -> ConnectionDrain.isDraining(c.connection()));
        }
        assertThat(held.stream().map(Call::connection).distinct()).hasSize(H2Pool.MAX_CONNECTIONS + 1);
        for (int i = 0; i < held.size(); i++) {
            answerOne();
        }
        for (Call c : held) {
            assertThat(c.status()).isEqualTo("response 200");
        }
    }
}
