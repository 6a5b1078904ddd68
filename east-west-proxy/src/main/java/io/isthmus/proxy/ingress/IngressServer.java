package io.isthmus.proxy.ingress;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.authz.Authorizer;
import io.isthmus.proxy.authz.DecisionLog;
import io.isthmus.proxy.authz.vouch.GatewayIdentities;
import io.isthmus.proxy.http.HeaderDeadline;
import io.isthmus.proxy.http.Http1Pipeline;
import io.isthmus.proxy.http.path.PathNormalizer;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.proxy.tls.ProxyTls;
import io.isthmus.proxy.transport.NettyTransport;
import io.isthmus.proxy.upstream.UpstreamPool;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.tls.SvidSource;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;

/**
 * The east-west ingress: accepts only mutual TLS (plaintext, one-way TLS and unverifiable SVIDs are refused in the
 * handshake and counted by reason), then routes requests by their Host mesh name to local backends, after deciding
 * who the caller is (vouched for by a peer gateway, or the mTLS peer itself), normalizing the path and asking the
 * destination's {@link Authorizer}. A
 * {@code CONNECT <mesh name>:<port>} opens a TCP tunnel to the backend (L4), authorized per connection.
 */
public final class IngressServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(IngressServer.class);

    private final ProxySettings settings;
    private final ProxyTls tls;
    private final SvidSource svid;
    private final LocalBackends backends;
    private final Authorizer authorizer;
    private final DecisionLog decisionLog;
    private final ProxyMetrics metrics;
    /** Replaced whole when the federation's membership changes ({@link #gateways(GatewayIdentities)}). */
    private volatile GatewayIdentities gateways;
    private final PathNormalizer paths;
    private final UpstreamPool backendPool;
    private final io.isthmus.proxy.upstream.H2Pool h2cBackends;
    private final io.isthmus.proxy.tunnel.Tunnels tunnels;
    private final NettyTransport transport;
    private final io.netty.channel.group.ChannelGroup connections =
            new io.netty.channel.group.DefaultChannelGroup(io.netty.util.concurrent.GlobalEventExecutor.INSTANCE);
    private Channel listener;

    /**
     * @param authorizer  the destination's policy, called for every request (default deny is its job)
     * @param decisionLog told about every decision
     * @param gateways    which peers may vouch for a caller: the gateway identities of each federated trust domain
     * @param paths       how request paths are normalized before policy sees them (and forwarded as normalized)
     */
    public IngressServer(NettyTransport transport, ProxySettings settings, ProxyTls tls, SvidSource svid,
            LocalBackends backends, Authorizer authorizer, DecisionLog decisionLog, ProxyMetrics metrics,
            GatewayIdentities gateways, PathNormalizer paths) {
        this.transport = transport;
        this.settings = settings;
        this.tls = tls;
        this.svid = svid;
        this.backends = backends;
        this.authorizer = authorizer;
        this.decisionLog = decisionLog;
        this.metrics = metrics;
        this.gateways = java.util.Objects.requireNonNull(gateways, "gateways");
        this.paths = java.util.Objects.requireNonNull(paths, "paths");
        this.backendPool = new UpstreamPool(transport, null, settings);
        this.h2cBackends = new io.isthmus.proxy.upstream.H2Pool(transport, null, settings);
        this.tunnels = new io.isthmus.proxy.tunnel.Tunnels(transport, settings);
    }

    /** Binds and starts accepting; returns the bound address (port 0 picks a free port). */
    public InetSocketAddress start(InetSocketAddress bind) {
        ServerBootstrap b = new ServerBootstrap().group(transport.boss(), transport.workers())
                .channel(transport.serverChannel()).option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        connections.add(ch);
                        SslHandler ssl = ProxyTls.fullHandshakes(tls.ingress().newHandler(ch.alloc()));
                        ssl.setHandshakeTimeout(settings.headerTimeout().toMillis(), TimeUnit.MILLISECONDS);
                        HeaderDeadline deadline = new HeaderDeadline(settings.headerTimeout().toNanos());
                        ch.pipeline().addLast("idle", new IdleStateHandler(settings.idleTimeout().toNanos(), 0, 0,
                                TimeUnit.NANOSECONDS))
                                .addLast("tls", ssl);
                        Http1Pipeline.addLast(ch.pipeline(), deadline, settings.maxHeaderSize(), settings.maxBodySize());
                        ch.pipeline().addLast("ingress", new IngressHandler(IngressServer.this, deadline));
                    }
                });
        listener = b.bind(bind).syncUninterruptibly().channel();
        InetSocketAddress bound = (InetSocketAddress) listener.localAddress();
        LOG.infof("east-west ingress (mTLS, %s) listening on %s", tls.provider(), bound);
        return bound;
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    /** The handler of one HTTP/2 stream (a child channel of an h2 connection; no header deadline: the codec has whole frames). */
    IngressHandler streamHandler() {
        return new IngressHandler(this, new HeaderDeadline(settings.headerTimeout().toNanos()));
    }

    ProxySettings settings() {
        return settings;
    }

    LocalBackends backends() {
        return backends;
    }

    Authorizer authorizer() {
        return authorizer;
    }

    DecisionLog decisionLog() {
        return decisionLog;
    }

    GatewayIdentities gateways() {
        return gateways;
    }

    /**
     * Puts new gateway identities in force (a membership change): requests decided from now on accept vouching only
     * from these; a cluster that left vouches for nobody.
     */
    public void gateways(GatewayIdentities next) {
        this.gateways = java.util.Objects.requireNonNull(next, "gateways");
    }

    PathNormalizer paths() {
        return paths;
    }

    ProxyMetrics metrics() {
        return metrics;
    }

    UpstreamPool backendPool() {
        return backendPool;
    }

    /** h2c (prior knowledge) connections to backends that speak only HTTP/2: gRPC requests go there. */
    io.isthmus.proxy.upstream.H2Pool h2cBackends() {
        return h2cBackends;
    }

    ProxyTls tls() {
        return tls;
    }

    io.isthmus.proxy.tunnel.Tunnels tunnels() {
        return tunnels;
    }

    SpiffeId localId() {
        return svid.current().id();
    }

    /**
     * Re-verifies the peer gateway of every open connection against the current bundles and closes those that
     * fail (a revoked intermediate). Call after each bundle change; returns at once.
     */
    public void revalidate() {
        io.isthmus.proxy.tls.Revalidation.recheck(connections, tls, metrics, "ingress", settings.drainTimeout());
    }

    /** Stops accepting and closes every open connection. */
    @Override
    public void close() {
        if (listener != null) {
            listener.close().syncUninterruptibly();
        }
        connections.close().awaitUninterruptibly();
        backendPool.close();
        h2cBackends.close();
    }
}
