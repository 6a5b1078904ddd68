package io.isthmus.proxy.upstream;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLException;

import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.exchange.H2ClientStreams;
import io.isthmus.proxy.exchange.H2Stream;
import io.isthmus.proxy.http.Http2Support;
import io.isthmus.proxy.tls.ConnectionDrain;
import io.isthmus.proxy.tls.ProxyTls;
import io.isthmus.proxy.transport.NettyTransport;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.Promise;

/**
 * Multiplexed HTTP/2 connections to one kind of upstream: h2 over mTLS (ALPN) to peer ingresses, which carries all
 * HTTP between gateways, or h2c (prior knowledge) to backends that speak only HTTP/2 (gRPC). Connections are kept per
 * event loop and address; each request is a new stream ({@link #openStream}) on a connection that has room for it.
 * A stream is an {@link H2Stream}: frames handled by the connection's own {@link H2ClientStreams} handler behind
 * Netty's {@code Http2FrameCodec}, with no child channel, pipeline or promise of its own (before, every stream was an
 * {@code Http2StreamChannel} made by Netty's multiplexer: a third of the event loops' user CPU at concurrency 1 ran
 * with one on the stack, and opening it was a sixth of the egress's allocation per request).
 *
 * <p>The peer's stream limit is obeyed. A connection is handed out only once the peer's first SETTINGS frame has
 * arrived, so that its {@code SETTINGS_MAX_CONCURRENT_STREAMS} is known; until then stream requests wait on it. A
 * connection carries at most that many streams (and at most {@link Http2Support#MAX_CONCURRENT_STREAMS}); when every
 * connection to an address is full another is opened, up to {@value #MAX_CONNECTIONS} per event loop and address.
 * (Before, a connection was used as soon as its TLS handshake completed: the first burst of streams went out before
 * the peer's limit arrived, and the peer enforces its limit only once we acknowledged it, so 300 streams shared one
 * connection; once the limit was known, streams beyond it failed instead of going to a second connection.) A
 * connection that received GOAWAY takes no new stream. Host names are resolved by the transport's asynchronous
 * resolver.
 *
 * <p>{@link #openStream} must be called on {@code loop}; the stream it yields belongs to that loop.
 */
public final class H2Pool implements AutoCloseable {
    /** Connections per event loop and address, each with up to the peer's stream limit. */
    public static final int MAX_CONNECTIONS = 16;

    private final NettyTransport transport;
    private final SslContext tls;
    private final ProxySettings settings;
    private final ConcurrentMap<EventLoop, Map<InetSocketAddress, List<Connection>>> connections =
            new ConcurrentHashMap<>();
    private final ChannelGroup all = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

    /** @param tls a client context negotiating {@code h2} by ALPN (peer ingresses), or null for h2c (backends) */
    public H2Pool(NettyTransport transport, SslContext tls, ProxySettings settings) {
        this.transport = transport;
        this.tls = tls;
        this.settings = settings;
    }

    /**
     * A new stream to {@code address}, with no id until its first HEADERS are written. Fails with the resolution,
     * connect, handshake or ALPN error, or when every allowed connection is full; nothing has been sent then.
     */
    public Future<H2Stream> openStream(EventLoop loop, InetSocketAddress address) {
        Promise<H2Stream> stream = loop.newPromise();
        dispatch(loop, address, stream);
        return stream;
    }

    private void dispatch(EventLoop loop, InetSocketAddress address, Promise<H2Stream> waiter) {
        List<Connection> list = connections.computeIfAbsent(loop, l -> new HashMap<>())
                .computeIfAbsent(address, a -> new ArrayList<>(2));
        int accepting = 0;
        for (Connection c : list) {
            if (c.hasRoom()) {
                c.submit(waiter);
                return;
            }
            // A draining connection may live on for the drain timeout with a long stream: it takes no new streams,
            // so it does not count against the limit (or a few drains would leave no connection to open).
            accepting += c.draining() ? 0 : 1;
        }
        if (accepting >= MAX_CONNECTIONS) {
            waiter.tryFailure(new IllegalStateException("all " + MAX_CONNECTIONS + " HTTP/2 connections to "
                    + address + " are at the peer's stream limit"));
            return;
        }
        Connection c = new Connection(loop, address, list);
        list.add(c);
        c.submit(waiter);
        c.connect();
    }

    /** One HTTP/2 connection and the streams it carries or will carry. Event loop only. */
    private final class Connection {
        private final EventLoop loop;
        private final InetSocketAddress address;
        private final List<Connection> siblings;
        private final ArrayDeque<Promise<H2Stream>> waiting = new ArrayDeque<>();
        private Channel channel;
        private H2ClientStreams streamHandler;
        private boolean ready;
        private boolean closed;
        private int limit = Http2Support.MAX_CONCURRENT_STREAMS;
        private int streams;
        private ScheduledFuture<?> settingsTimeout;

        Connection(EventLoop loop, InetSocketAddress address, List<Connection> siblings) {
            this.loop = loop;
            this.address = address;
            this.siblings = siblings;
        }

        boolean hasRoom() {
            return !closed && !draining() && streams + waiting.size() < limit;
        }

        /**
         * A GOAWAY was received, or sent because the peer's signer was retired ({@link ConnectionDrain}): the
         * connection finishes its streams, and new ones go on another connection.
         */
        boolean draining() {
            return channel != null && ConnectionDrain.isDraining(channel);
        }

        void submit(Promise<H2Stream> w) {
            if (ready) {
                open(w);
            } else {
                waiting.add(w);
            }
        }

        private void open(Promise<H2Stream> w) {
            // Counted until the stream ends, however it ends (H2ClientStreams runs streamEnded once per stream).
            streams++;
            H2Stream stream = streamHandler.open();
            if (!w.trySuccess(stream)) {
                stream.close();
            }
        }

        private void streamEnded() {
            streams--;
        }

        void connect() {
            ChannelFuture connect = transport.client(loop, settings.connectTimeout())
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            if (tls != null) {
                                ch.pipeline().addLast("tls", ProxyTls.clientHandler(tls, ch, settings.connectTimeout()));
                            }
                            ch.pipeline().addLast("flush", Http2Support.batchedFlushes())
                                    .addLast("h2", Http2FrameCodecBuilder.forClient()
                                    .initialSettings(Http2Settings.defaultSettings()
                                            .maxHeaderListSize(settings.maxHeaderSize()))
                                    .build())
                                    .addLast("connection", new ConnectionEvents(Connection.this))
                                    .addLast("streams", streamHandler = new H2ClientStreams(
                                            settings.requestTimeout().toNanos(), Connection.this::streamEnded));
                        }
                    }).connect(address);
            channel = connect.channel();
            connect.addListener(f -> {
                if (!f.isSuccess()) {
                    failed(f.cause());
                    return;
                }
                all.add(channel);
                channel.closeFuture().addListener(c -> closed(new java.io.IOException(
                        "the HTTP/2 connection to " + address + " closed before it was ready")));
                SslHandler ssl = channel.pipeline().get(SslHandler.class);
                if (ssl == null) {
                    awaitSettings();
                    return;
                }
                ssl.handshakeFuture().addListener(h -> {
                    if (!h.isSuccess()) {
                        failed(h.cause());
                    } else if (!ApplicationProtocolNames.HTTP_2.equals(ssl.applicationProtocol())) {
                        failed(new SSLException(address + " did not negotiate h2 by ALPN"));
                    } else {
                        awaitSettings();
                    }
                });
            });
        }

        /** The peer's SETTINGS must follow the handshake (or the h2c preface) within the connect timeout. */
        private void awaitSettings() {
            if (!ready && !closed) {
                settingsTimeout = loop.schedule(() -> failed(new java.util.concurrent.TimeoutException(
                        address + " sent no HTTP/2 SETTINGS within " + settings.connectTimeout())),
                        settings.connectTimeout().toNanos(), TimeUnit.NANOSECONDS);
            }
        }

        /** The peer's SETTINGS arrived: its stream limit is known, the waiting streams go out (or elsewhere). */
        void settingsReceived(Http2Settings peer) {
            Long max = peer.maxConcurrentStreams();
            if (max != null) {
                limit = (int) Math.min(Http2Support.MAX_CONCURRENT_STREAMS, max);
            }
            if (ready || closed) {
                return;
            }
            ready = true;
            if (settingsTimeout != null) {
                settingsTimeout.cancel(false);
            }
            Http2Support.widenConnectionWindow(channel);
            List<Promise<H2Stream>> elsewhere = new ArrayList<>();
            for (Promise<H2Stream> w = waiting.poll(); w != null; w = waiting.poll()) {
                if (streams < limit) {
                    open(w);
                } else {
                    elsewhere.add(w);
                }
            }
            elsewhere.forEach(w -> dispatch(loop, address, w));
        }

        private void failed(Throwable cause) {
            if (channel != null) {
                channel.close();
            }
            closed(cause);
        }

        private void closed(Throwable cause) {
            if (closed) {
                return;
            }
            closed = true;
            siblings.remove(this);
            if (settingsTimeout != null) {
                settingsTimeout.cancel(false);
            }
            for (Promise<H2Stream> w = waiting.poll(); w != null; w = waiting.poll()) {
                w.tryFailure(cause);
            }
        }
    }

    /**
     * In front of the streams' handler: SETTINGS and GOAWAY from the peer. A GOAWAY marks the connection draining
     * before {@link H2ClientStreams} tells the streams it did not cover: an exchange retries such a stream at once,
     * and that retry must not be given this connection again (a stream opened on it after the GOAWAY cannot be
     * created, and the retry would be lost).
     */
    private static final class ConnectionEvents extends ChannelInboundHandlerAdapter {
        private final Connection connection;

        ConnectionEvents(Connection connection) {
            this.connection = connection;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2SettingsFrame s) {
                connection.settingsReceived(s.settings());
            } else if (msg instanceof Http2GoAwayFrame) {
                ConnectionDrain.peerGoingAway(ctx.channel());
            }
            ctx.fireChannelRead(msg);
        }
    }

    /** Every open connection (for revalidation after a bundle change). */
    public Iterable<Channel> connections() {
        return all;
    }

    /** How many connections are open and ready (for tests and diagnostics). */
    public int openConnections() {
        int n = 0;
        for (Channel c : all) {
            n += c.isActive() ? 1 : 0;
        }
        return n;
    }

    @Override
    public void close() {
        all.close().awaitUninterruptibly();
    }
}
