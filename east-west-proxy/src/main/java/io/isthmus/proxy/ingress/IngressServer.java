package io.isthmus.proxy.ingress;

import java.net.InetSocketAddress;
import java.util.Objects;

import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.authz.Authorizer;
import io.isthmus.proxy.authz.DecisionLog;
import io.isthmus.proxy.authz.vouch.GatewayIdentities;
import io.isthmus.proxy.http.HeaderDeadline;
import io.isthmus.proxy.http.Http1Pipeline;
import io.isthmus.proxy.http.path.PathNormalizer;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.proxy.telemetry.Telemetry;
import io.isthmus.proxy.tls.ProxyTls;
import io.isthmus.proxy.transport.NettyTransport;
import io.isthmus.proxy.upstream.H2Pool;
import io.isthmus.proxy.upstream.Http1Pool;
import io.isthmus.proxy.http.Http2Support;
import io.netty.channel.ChannelHandler;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.tls.SvidSource;
import io.isthmus.proxy.listener.Listener;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;

/**
 * The east-west ingress: accepts only mutual TLS (plaintext, one-way TLS and unverifiable SVIDs are refused in the
 * handshake and counted by reason), then routes requests by their Host mesh name to local backends, after deciding
 * who the caller is (vouched for by a peer gateway, or the mTLS peer itself), normalizing the path and asking the
 * destination's {@link Authorizer}. A
 * {@code CONNECT <mesh name>:<port>} opens a TCP tunnel to the backend (L4), authorized per connection.
 *
 * <p>Pipeline of an accepted connection, in order: {@code idle} ({@link Listener}), then the {@link IngressEntry}
 * if one is set (the hook for SNI routing before TLS; see its contract), then {@code tls}, the HTTP/1.1 handlers of
 * {@link Http1Pipeline} and {@code ingress} ({@link IngressHandler}), which {@link #terminate} appends. A connection
 * that negotiates h2 by ALPN swaps the HTTP/1.1 handlers for HTTP/2 ones after the handshake.
 *
 * <p>Reading order for one request: {@link #terminate} (the pipeline), {@link IngressHandler} (the connection and its
 * peer), {@link IngressExchange} (the request's decisions and backend), {@link io.isthmus.proxy.exchange.Exchange}
 * (relaying).
 */
public final class IngressServer implements AutoCloseable {
    private final ProxySettings settings;
    private final ProxyTls tls;
    private final SvidSource svid;
    private final LocalBackends backends;
    private final Authorizer authorizer;
    private final DecisionLog decisionLog;
    private final ProxyMetrics metrics;
    private final Telemetry telemetry;
    /** Replaced whole when the federation's membership changes ({@link #gateways(GatewayIdentities)}). */
    private volatile GatewayIdentities gateways;
    private final PathNormalizer paths;
    private final Http1Pool backendPool;
    private final H2Pool h2cBackends;
    private final io.isthmus.proxy.tunnel.Tunnels tunnels;
    private final Listener listener;
    private volatile IngressEntry entry;

    /**
     * @param authorizer  the destination's policy, called for every request (default deny is its job)
     * @param decisionLog told about every decision
     * @param gateways    which peers may vouch for a caller: the gateway identities of each federated trust domain
     * @param paths       how request paths are normalized before policy sees them (and forwarded as normalized)
     * @param telemetry   records each request and tunnel (cluster labels, access log, spans);
     *                    {@link Telemetry#none()} counts them under {@code unknown} clusters
     */
    public IngressServer(NettyTransport transport, ProxySettings settings, ProxyTls tls, SvidSource svid,
            LocalBackends backends, Authorizer authorizer, DecisionLog decisionLog, ProxyMetrics metrics,
            GatewayIdentities gateways, PathNormalizer paths, Telemetry telemetry) {
        this.settings = settings;
        this.tls = tls;
        this.svid = svid;
        this.backends = backends;
        this.authorizer = authorizer;
        this.decisionLog = decisionLog;
        this.metrics = metrics;
        this.telemetry = Objects.requireNonNull(telemetry, "telemetry");
        this.gateways = Objects.requireNonNull(gateways, "gateways");
        this.paths = Objects.requireNonNull(paths, "paths");
        this.backendPool = new Http1Pool(transport, null, settings);
        this.h2cBackends = new H2Pool(transport, null, settings);
        this.tunnels = new io.isthmus.proxy.tunnel.Tunnels(transport, settings);
        this.listener = new Listener("ingress", transport, settings,
                Listener.gate("ingress", settings.ingressConnections()), metrics, this::accepted);
    }

    /**
     * Sets the first handler of every connection accepted from now on (see {@link IngressEntry}); call before
     * {@link #start}. Without one, every connection is terminated here.
     */
    public IngressServer entry(IngressEntry entry) {
        this.entry = entry;
        return this;
    }

    private void accepted(SocketChannel ch) {
        IngressEntry first = entry;
        if (first == null) {
            terminate(ch.pipeline());
        } else {
            ch.pipeline().addLast(IngressEntry.NAME, first.create(ch, this::terminate));
        }
    }

    /** TLS termination and HTTP: appends {@code tls}, the HTTP/1.1 handlers and {@code ingress} to {@code pipeline}. */
    private void terminate(ChannelPipeline pipeline) {
        SocketChannel ch = (SocketChannel) pipeline.channel();
        HeaderDeadline deadline = new HeaderDeadline(settings.headerTimeout().toNanos());
        pipeline.addLast("tls", listener.tls(tls.ingress(), ch));
        Http1Pipeline.addLast(pipeline, deadline, settings.maxHeaderSize());
        pipeline.addLast("ingress", new IngressHandler(this, deadline));
    }

    /** Binds and starts accepting; returns the bound address (port 0 picks a free port). */
    public InetSocketAddress start(InetSocketAddress bind) {
        return listener.start(bind, "mTLS, " + tls.provider());
    }

    public InetSocketAddress address() {
        return listener.address();
    }

    /** The connections this listener accepted and still holds open (an HTTP/2 connection's streams have no channel of their own). */
    public io.netty.channel.group.ChannelGroup connections() {
        return listener.connections();
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
        this.gateways = Objects.requireNonNull(next, "gateways");
    }

    PathNormalizer paths() {
        return paths;
    }

    ProxyMetrics metrics() {
        return metrics;
    }

    Telemetry telemetry() {
        return telemetry;
    }

    /** Pooled HTTP/1.1 connections to local backends (and dedicated ones for Upgrades). */
    Http1Pool backendPool() {
        return backendPool;
    }

    /** h2c (prior knowledge) connections to backends that speak only HTTP/2: gRPC requests go there. */
    H2Pool h2cBackends() {
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

    /** The start of the XFCC header the backend gets, for this gateway's current SPIFFE ID. */
    private record XfccPrefix(SpiffeId id, String text) {
    }

    private volatile XfccPrefix xfccPrefix;

    /**
     * {@code "By=<this gateway's SPIFFE ID>;URI="}: built again only when the SVID's ID changes, not for every
     * request (it cost a SPIFFE ID's text and a concatenation each time).
     */
    String xfccPrefix() {
        SpiffeId id = localId();
        XfccPrefix p = xfccPrefix;
        if (p == null || !p.id().equals(id)) {
            p = new XfccPrefix(id, "By=" + id + ";URI=");
            xfccPrefix = p;
        }
        return p.text();
    }

    /**
     * Re-verifies the peer gateway of every open connection against the current bundles and closes those that
     * fail (a revoked intermediate). Call after each bundle change; returns at once.
     */
    public void revalidate() {
        listener.revalidate(tls, metrics);
    }

    /** Stops accepting and closes every open connection. */
    @Override
    public void close() {
        listener.close();
        backendPool.close();
        h2cBackends.close();
    }
}
