package io.isthmus.proxy.upstream;

import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.transport.NettyTransport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;

/**
 * HTTP/2 to upstreams, for gRPC: h2c (prior knowledge) to local backends that speak only HTTP/2, or h2 over mTLS
 * (ALPN) to peer ingresses. One
 * multiplexed connection per event loop and backend address, one stream per request. A stream from
 * {@link #acquireStream} ends in an {@link Exchange}, so a request is sent with {@link Exchange#send} exactly as on
 * an HTTP/1.1 connection; a stream from {@link #acquireFrameStream} carries raw HTTP/2 frames for a relayed call.
 * Both must be called on {@code loop}.
 */
public final class H2Pool implements AutoCloseable {
    private final NettyTransport transport;
    private final io.netty.handler.ssl.SslContext tls;
    private final ProxySettings settings;
    private final ConcurrentMap<EventLoop, Map<InetSocketAddress, Future<Channel>>> connections =
            new ConcurrentHashMap<>();
    private final io.netty.channel.group.ChannelGroup all =
            new io.netty.channel.group.DefaultChannelGroup(io.netty.util.concurrent.GlobalEventExecutor.INSTANCE);

    /** @param tls a client context negotiating {@code h2} by ALPN (peer ingresses), or null for h2c (backends) */
    public H2Pool(NettyTransport transport, io.netty.handler.ssl.SslContext tls, ProxySettings settings) {
        this.transport = transport;
        this.tls = tls;
        this.settings = settings;
    }

    /**
     * A new stream on the (shared) h2c connection to {@code address}. Fails with the connect error; nothing has been
     * sent on a stream that failed here.
     */
    public Future<Channel> acquireStream(EventLoop loop, InetSocketAddress address) {
        return openStream(loop, address, new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel ch) {
                ch.pipeline().addLast("timeout", new IdleStateHandler(settings.requestTimeout().toNanos(), 0, 0,
                        TimeUnit.NANOSECONDS))
                        .addLast("h2-to-http", new Http2StreamFrameToHttpObjectCodec(false))
                        .addLast("aggregate", new HttpObjectAggregator(settings.maxBodySize()))
                        .addLast("exchange", new Exchange());
            }
        });
    }

    /**
     * A new stream for a relayed (streaming) call on the shared connection to {@code address}: its pipeline has only
     * an idle-state handler firing when no frame was read or written for the request timeout; the caller adds the
     * handler for the stream's frames. Fails with the connect error; nothing has been sent then.
     */
    public Future<Channel> acquireFrameStream(EventLoop loop, InetSocketAddress address) {
        return openStream(loop, address, new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel ch) {
                ch.pipeline().addLast("idle", new IdleStateHandler(0, 0, settings.requestTimeout().toNanos(),
                        TimeUnit.NANOSECONDS));
            }
        });
    }

    private Future<Channel> openStream(EventLoop loop, InetSocketAddress address,
            ChannelInitializer<Http2StreamChannel> pipeline) {
        Promise<Channel> stream = loop.newPromise();
        connection(loop, address).addListener(f -> {
            if (!f.isSuccess()) {
                stream.tryFailure(f.cause());
                return;
            }
            Channel parent = (Channel) f.getNow();
            new Http2StreamChannelBootstrap(parent).handler(pipeline).open().addListener(o -> {
                if (o.isSuccess()) {
                    stream.trySuccess((Channel) o.getNow());
                } else {
                    stream.tryFailure(o.cause());
                }
            });
        });
        return stream;
    }

    private Future<Channel> connection(EventLoop loop, InetSocketAddress address) {
        Map<InetSocketAddress, Future<Channel>> byAddress = connections.computeIfAbsent(loop,
                l -> new java.util.HashMap<>());
        Future<Channel> existing = byAddress.get(address);
        if (existing != null && (!existing.isDone() || existing.isSuccess() && existing.getNow().isActive()
                && !io.isthmus.proxy.tls.ConnectionDrain.isDraining(existing.getNow()))) {
            // A draining connection (GOAWAY sent or received) finishes its streams; new ones go on a new connection.
            return existing;
        }
        Promise<Channel> ready = loop.newPromise();
        byAddress.put(address, ready);
        ChannelFuture connect = new Bootstrap().group(loop).channel(transport.clientChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) settings.connectTimeout().toMillis())
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (tls != null) {
                            io.netty.handler.ssl.SslHandler ssl = tls.newHandler(ch.alloc());
                            ssl.setHandshakeTimeout(settings.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
                            ch.pipeline().addLast("tls", ssl);
                        }
                        ch.pipeline().addLast("h2", Http2FrameCodecBuilder.forClient()
                                .initialSettings(io.netty.handler.codec.http2.Http2Settings.defaultSettings()
                                        .maxHeaderListSize(settings.maxHeaderSize()))
                                .build())
                                .addLast("h2-mux", new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()))
                                .addLast("errors", new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void exceptionCaught(io.netty.channel.ChannelHandlerContext ctx,
                                            Throwable cause) {
                                        // A broken backend connection: its streams fail their exchanges; the
                                        // next request opens a new connection.
                                        ctx.close();
                                    }
                                });
                    }
                }).connect(address);
        connect.addListener(f -> {
            if (f.isSuccess()) {
                Channel ch = connect.channel();
                all.add(ch);
                io.netty.handler.ssl.SslHandler ssl = ch.pipeline().get(io.netty.handler.ssl.SslHandler.class);
                if (ssl == null) {
                    // The connect promise completes before channelActive, where the codec sends the connection
                    // preface: a stream opened now would write HEADERS before it. Hand the connection out after.
                    loop.execute(() -> {
                        io.isthmus.proxy.http.Http2Support.widenConnectionWindow(ch);
                        ready.trySuccess(ch);
                    });
                    return;
                }
                ssl.handshakeFuture().addListener(h -> {
                    if (!h.isSuccess()) {
                        byAddress.remove(address, ready);
                        ch.close();
                        ready.tryFailure(h.cause());
                    } else if (!io.netty.handler.ssl.ApplicationProtocolNames.HTTP_2.equals(ssl.applicationProtocol())) {
                        byAddress.remove(address, ready);
                        ch.close();
                        ready.tryFailure(new javax.net.ssl.SSLException(address + " did not negotiate h2 by ALPN"));
                    } else {
                        io.isthmus.proxy.http.Http2Support.widenConnectionWindow(ch);
                        ready.trySuccess(ch);
                    }
                });
            } else {
                byAddress.remove(address, ready);
                ready.tryFailure(f.cause());
            }
        });
        return ready;
    }

    /** Every open connection (for revalidation after a bundle change). */
    public Iterable<Channel> connections() {
        return all;
    }

    @Override
    public void close() {
        all.close().awaitUninterruptibly();
    }
}
