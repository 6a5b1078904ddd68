package io.isthmus.proxy.upstream;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.exchange.UpstreamEnd;
import io.isthmus.proxy.http.Http1Pipeline;
import io.isthmus.proxy.tls.ProxyTls;
import io.isthmus.proxy.transport.NettyTransport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.Promise;

/**
 * HTTP/1.1 connections to upstreams (local backends in plaintext; with a TLS context, peer ingresses), kept alive and
 * pooled per event loop and address: a caller's connection borrows only connections of its own event loop, so no
 * lock is taken and no exchange crosses threads. A borrowed connection carries one exchange at a time; its pipeline
 * is {@code timeout} (both directions idle for the request timeout: the exchange fails, or an idle pooled connection
 * closes), {@code tls}, {@code http} (Netty's client codec, not aggregating: bodies stream) and
 * {@link UpstreamEnd}. Host names are resolved by the transport's asynchronous resolver. {@link #acquire},
 * {@link #connect} and {@link #release} must be called on {@code loop}.
 */
public final class Http1Pool implements AutoCloseable {
    private static final int MAX_IDLE_PER_ADDRESS = 256;
    /** The address a connection was acquired for (possibly unresolved), under which it is pooled again. */
    private static final AttributeKey<InetSocketAddress> POOL_KEY = AttributeKey.valueOf("isthmus.upstream.key");

    private final NettyTransport transport;
    private final SslContext tls;
    private final ProxySettings settings;
    private final long maxIdleNanos;
    private final ConcurrentMap<EventLoop, Map<InetSocketAddress, ArrayDeque<Idle>>> idle = new ConcurrentHashMap<>();
    private final ConcurrentMap<EventLoop, Bootstrap> bootstraps = new ConcurrentHashMap<>();
    private final ChannelGroup all = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

    private record Idle(Channel channel, long since) {
    }

    /** @param tls the client TLS context (peer ingresses), or null for plaintext (local backends) */
    public Http1Pool(NettyTransport transport, SslContext tls, ProxySettings settings) {
        this.transport = transport;
        this.tls = tls;
        this.settings = settings;
        this.maxIdleNanos = settings.idleTimeout().toNanos() / 2;
    }

    /**
     * A ready connection (TCP connected and, with TLS, handshaken and the peer verified), reused when one is idle.
     * Fails with the resolution, connect or handshake error; nothing has been sent on a connection that failed here.
     */
    public Future<Channel> acquire(EventLoop loop, InetSocketAddress address) {
        Map<InetSocketAddress, ArrayDeque<Idle>> byAddress = idle.get(loop);
        ArrayDeque<Idle> queue = byAddress == null ? null : byAddress.get(address);
        long now = System.nanoTime();
        while (queue != null && !queue.isEmpty()) {
            Idle candidate = queue.pollLast();
            if (candidate.channel().isActive() && now - candidate.since() < maxIdleNanos && !draining(candidate.channel())) {
                return loop.newSucceededFuture(candidate.channel());
            }
            candidate.channel().close();
        }
        return connect(loop, address);
    }

    /** A new connection that is not taken from the pool (for an Upgrade, which keeps it). */
    public Future<Channel> connect(EventLoop loop, InetSocketAddress address) {
        Promise<Channel> ready = loop.newPromise();
        ChannelFuture connect = bootstrap(loop).connect(address);
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                ready.tryFailure(f.cause());
                return;
            }
            Channel ch = connect.channel();
            ch.attr(POOL_KEY).set(address);
            all.add(ch);
            SslHandler ssl = ch.pipeline().get(SslHandler.class);
            if (ssl == null) {
                ready.trySuccess(ch);
            } else {
                ssl.handshakeFuture().addListener(h -> {
                    if (h.isSuccess()) {
                        ready.trySuccess(ch);
                    } else {
                        ch.close();
                        ready.tryFailure(h.cause());
                    }
                });
            }
        });
        return ready;
    }

    /** Gives a connection back after an exchange: kept for the next one if {@code reusable}, else closed. */
    public void release(Channel channel, boolean reusable) {
        if (!reusable || !channel.isActive()) {
            channel.close();
            return;
        }
        if (draining(channel)) {
            // Its peer's signer was retired: this exchange was its last.
            channel.close();
            return;
        }
        InetSocketAddress address = channel.attr(POOL_KEY).get();
        ArrayDeque<Idle> queue = idle.computeIfAbsent(channel.eventLoop(), l -> new HashMap<>())
                .computeIfAbsent(address, a -> new ArrayDeque<>());
        if (queue.size() >= MAX_IDLE_PER_ADDRESS) {
            channel.close();
            return;
        }
        queue.addLast(new Idle(channel, System.nanoTime()));
    }

    /**
     * Whether a pooled connection is draining. Only a TLS connection can be: a drain starts when its peer's
     * certificate no longer verifies ({@link io.isthmus.proxy.tls.Revalidation}), and a plaintext backend connection
     * has no certificate; skipping the channel-attribute lookup for those saves two per request at the ingress.
     */
    private boolean draining(Channel channel) {
        return tls != null && io.isthmus.proxy.tls.ConnectionDrain.isDraining(channel);
    }

    private Bootstrap bootstrap(EventLoop loop) {
        return bootstraps.computeIfAbsent(loop, l -> transport.client(l, settings.connectTimeout())
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast("timeout", new IdleStateHandler(0, 0,
                                settings.requestTimeout().toNanos(), TimeUnit.NANOSECONDS));
                        if (tls != null) {
                            ch.pipeline().addLast("tls", ProxyTls.clientHandler(tls, ch, settings.connectTimeout()));
                        }
                        ch.pipeline().addLast("http", new HttpClientCodec(4096, settings.maxHeaderSize(), Http1Pipeline.MAX_CHUNK))
                                .addLast(UpstreamEnd.NAME, new UpstreamEnd());
                    }
                }));
    }

    /** Every open connection of this pool, idle or busy (for revalidation after a bundle change). */
    public Iterable<Channel> connections() {
        return all;
    }

    @Override
    public void close() {
        all.close().awaitUninterruptibly();
    }
}
