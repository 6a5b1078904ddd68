package io.isthmus.proxy.upstream;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.transport.NettyTransport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;

/**
 * Keep-alive HTTP/1.1 connections to upstreams (peer ingresses over mTLS, or local backends in plaintext), pooled
 * per event loop and address: a downstream connection borrows only connections of its own event loop, so no lock
 * is taken and no request crosses threads. A borrowed connection carries one exchange at a time.
 * {@link #acquire} and {@link #release} must be called on {@code loop}.
 */
public final class UpstreamPool implements AutoCloseable {
    private static final int MAX_IDLE_PER_ADDRESS = 256;
    /** The address a connection was acquired for (possibly unresolved), under which it is pooled again. */
    private static final AttributeKey<InetSocketAddress> POOL_KEY = AttributeKey.valueOf("isthmus.upstream.key");

    private final NettyTransport transport;
    private final SslContext tls;
    private final ProxySettings settings;
    private final long maxIdleNanos;
    private final ConcurrentMap<EventLoop, Map<InetSocketAddress, ArrayDeque<Idle>>> idle = new ConcurrentHashMap<>();
    private final ConcurrentMap<EventLoop, Bootstrap> bootstraps = new ConcurrentHashMap<>();
    private final io.netty.channel.group.ChannelGroup all =
            new io.netty.channel.group.DefaultChannelGroup(io.netty.util.concurrent.GlobalEventExecutor.INSTANCE);

    private record Idle(Channel channel, long since) {
    }

    /** @param tls the client TLS context (peer ingresses), or null for plaintext (local backends) */
    public UpstreamPool(NettyTransport transport, SslContext tls, ProxySettings settings) {
        this.transport = transport;
        this.tls = tls;
        this.settings = settings;
        this.maxIdleNanos = settings.idleTimeout().toNanos() / 2;
    }

    /**
     * A ready connection (TCP connected and, with TLS, handshaken and the peer verified), reused when one is idle.
     * Fails with the connect or handshake error; nothing has been sent on a connection that failed here.
     */
    public Future<Channel> acquire(EventLoop loop, InetSocketAddress address) {
        Map<InetSocketAddress, ArrayDeque<Idle>> byAddress = idle.get(loop);
        ArrayDeque<Idle> queue = byAddress == null ? null : byAddress.get(address);
        long now = System.nanoTime();
        while (queue != null && !queue.isEmpty()) {
            Idle candidate = queue.pollLast();
            if (candidate.channel().isActive() && now - candidate.since() < maxIdleNanos
                    && !io.isthmus.proxy.tls.ConnectionDrain.isDraining(candidate.channel())) {
                return loop.newSucceededFuture(candidate.channel());
            }
            candidate.channel().close();
        }
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

    /** Returns a connection whose exchange completed cleanly and that may be kept alive. */
    public void release(Channel channel) {
        if (!channel.isActive()) {
            return;
        }
        if (io.isthmus.proxy.tls.ConnectionDrain.isDraining(channel)) {
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

    private Bootstrap bootstrap(EventLoop loop) {
        return bootstraps.computeIfAbsent(loop, l -> new Bootstrap().group(l).channel(transport.clientChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) settings.connectTimeout().toMillis())
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        // No byte from the upstream for requestTimeout: the exchange in flight fails (504), an idle
                        // pooled connection is closed. Exchange.send restarts the clock.
                        ch.pipeline().addLast("timeout", new io.netty.handler.timeout.IdleStateHandler(
                                settings.requestTimeout().toNanos(), 0, 0, TimeUnit.NANOSECONDS));
                        if (tls != null) {
                            SslHandler ssl = tls.newHandler(ch.alloc());
                            ssl.setHandshakeTimeout(settings.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
                            ch.pipeline().addLast("tls", ssl);
                        }
                        ch.pipeline().addLast("http", new HttpClientCodec(4096, settings.maxHeaderSize(), 8192));
                        ch.pipeline().addLast("aggregate", new HttpObjectAggregator(settings.maxBodySize()));
                        ch.pipeline().addLast("exchange", new Exchange());
                    }
                }));
    }

    /** Every open connection of this pool, idle or busy (for revalidation after a bundle change). */
    public Iterable<Channel> connections() {
        return all;
    }

    @Override
    public void close() {
        for (Map.Entry<EventLoop, Map<InetSocketAddress, ArrayDeque<Idle>>> e : idle.entrySet()) {
            e.getKey().execute(() -> e.getValue().values().forEach(q -> q.forEach(i -> i.channel().close())));
        }
    }
}
