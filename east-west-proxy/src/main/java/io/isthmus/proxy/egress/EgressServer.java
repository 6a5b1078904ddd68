package io.isthmus.proxy.egress;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.authn.TokenAuthenticator;
import io.isthmus.proxy.http.HeaderDeadline;
import io.isthmus.proxy.http.Http1Pipeline;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.proxy.tls.ProxyTls;
import io.isthmus.proxy.transport.NettyTransport;
import io.isthmus.proxy.upstream.UpstreamPool;
import io.isthmus.registry.Locality;
import io.isthmus.registry.ServiceResolver;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.OptionalSslHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;

/**
 * The east-west egress for local callers, on one port for both kinds of caller: the first bytes tell TLS from
 * plaintext ({@link OptionalSslHandler}). Over TLS a caller may authenticate with its own SVID (local trust domain
 * only); otherwise it must send {@code Authorization: Bearer <projected service-account token>} (or
 * {@code Proxy-Authorization}), checked by the {@link TokenAuthenticator}. Requests name a mesh service
 * (absolute URI or Host header), are resolved through the {@link ServiceResolver} nearest first and sent over
 * pooled mTLS connections to the peer ingress, carrying the caller's identity. {@code CONNECT <mesh name>:<port>}
 * opens a TCP tunnel through the peer ingress to the service (L4).
 */
public final class EgressServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(EgressServer.class);

    private final NettyTransport transport;
    private final ProxySettings settings;
    private final ProxyTls tls;
    private final ServiceResolver resolver;
    private final Locality locality;
    private final TokenAuthenticator tokens;
    private final ProxyMetrics metrics;
    private final UpstreamPool peers;
    private final io.isthmus.proxy.upstream.H2Pool h2Peers;
    private final io.isthmus.proxy.tunnel.Tunnels tunnels;
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private Channel listener;

    /**
     * @param tokens checks bearer tokens; null when only SVID callers are accepted
     */
    public EgressServer(NettyTransport transport, ProxySettings settings, ProxyTls tls, ServiceResolver resolver,
            Locality locality, TokenAuthenticator tokens, ProxyMetrics metrics) {
        this.transport = transport;
        this.settings = settings;
        this.tls = tls;
        this.resolver = resolver;
        this.locality = locality;
        this.tokens = tokens;
        this.metrics = metrics;
        this.peers = new UpstreamPool(transport, tls.upstream(), settings);
        this.h2Peers = new io.isthmus.proxy.upstream.H2Pool(transport, tls.upstreamH2(), settings);
        this.tunnels = new io.isthmus.proxy.tunnel.Tunnels(transport, settings);
    }

    public InetSocketAddress start(InetSocketAddress bind) {
        ServerBootstrap b = new ServerBootstrap().group(transport.boss(), transport.workers())
                .channel(transport.serverChannel()).option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        connections.add(ch);
                        HeaderDeadline deadline = new HeaderDeadline(settings.headerTimeout().toNanos());
                        ch.pipeline().addLast("idle", new IdleStateHandler(settings.idleTimeout().toNanos(), 0, 0,
                                TimeUnit.NANOSECONDS))
                                .addLast("tls", new OptionalSslHandler(tls.egress()) {
                                    @Override
                                    protected SslHandler newSslHandler(ChannelHandlerContext ctx, SslContext ssl) {
                                        SslHandler h = ProxyTls.fullHandshakes(super.newSslHandler(ctx, ssl));
                                        h.setHandshakeTimeout(settings.headerTimeout().toMillis(), TimeUnit.MILLISECONDS);
                                        return h;
                                    }
                                })
                                .addLast("h2c", new io.isthmus.proxy.http.Http2Support.PriorKnowledge("egress",
                                        settings.maxHeaderSize(), settings.maxBodySize(), EgressServer.this::streamHandler));
                        Http1Pipeline.addLast(ch.pipeline(), deadline, settings.maxHeaderSize(), settings.maxBodySize());
                        ch.pipeline().addLast("egress", new EgressHandler(EgressServer.this, deadline));
                    }
                });
        listener = b.bind(bind).syncUninterruptibly().channel();
        InetSocketAddress bound = (InetSocketAddress) listener.localAddress();
        LOG.infof("east-west egress (plaintext + TLS on one port, %s) listening on %s", tls.provider(), bound);
        return bound;
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    /** The handler of one HTTP/2 stream (a child channel of an h2 or h2c connection). */
    EgressHandler streamHandler() {
        return new EgressHandler(this, new HeaderDeadline(settings.headerTimeout().toNanos()));
    }

    ProxySettings settings() {
        return settings;
    }

    ServiceResolver resolver() {
        return resolver;
    }

    Locality locality() {
        return locality;
    }

    TokenAuthenticator tokens() {
        return tokens;
    }

    ProxyMetrics metrics() {
        return metrics;
    }

    io.isthmus.proxy.tunnel.Tunnels tunnels() {
        return tunnels;
    }

    ProxyTls tls() {
        return tls;
    }

    /** Multiplexed h2 mTLS connections to peer ingresses, for gRPC calls. */
    io.isthmus.proxy.upstream.H2Pool h2Peers() {
        return h2Peers;
    }

    /** How many h2 connections to peer ingresses are open (they carry gRPC calls; for tests and diagnostics). */
    public int openH2PeerConnections() {
        int n = 0;
        for (Channel c : h2Peers.connections()) {
            n += c.isActive() ? 1 : 0;
        }
        return n;
    }

    UpstreamPool peers() {
        return peers;
    }

    /**
     * Re-verifies the SVIDs of TLS callers and of the peer ingresses of pooled connections against the current
     * bundles, closing connections that fail. Call after each bundle change; returns at once.
     */
    public void revalidate() {
        java.time.Duration drain = settings.drainTimeout();
        io.isthmus.proxy.tls.Revalidation.recheck(connections, tls, metrics, "egress", drain);
        io.isthmus.proxy.tls.Revalidation.recheck(peers.connections(), tls, metrics, "upstream", drain);
        io.isthmus.proxy.tls.Revalidation.recheck(h2Peers.connections(), tls, metrics, "upstream", drain);
    }

    @Override
    public void close() {
        if (listener != null) {
            listener.close().syncUninterruptibly();
        }
        connections.close().awaitUninterruptibly();
        peers.close();
        h2Peers.close();
    }
}
