package io.isthmus.proxy.egress;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.Objects;

import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.authn.TokenAuthenticator;
import io.isthmus.proxy.http.HeaderDeadline;
import io.isthmus.proxy.http.Http1Pipeline;
import io.isthmus.proxy.http.Http2Support;
import io.isthmus.proxy.listener.Listener;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.proxy.telemetry.Telemetry;
import io.isthmus.proxy.outlier.OutlierDetector;
import io.isthmus.proxy.tls.ProxyTls;
import io.isthmus.proxy.tls.Revalidation;
import io.isthmus.proxy.transport.NettyTransport;
import io.isthmus.proxy.tunnel.Tunnels;
import io.isthmus.proxy.upstream.H2Pool;
import io.isthmus.proxy.upstream.Http1Pool;
import io.isthmus.registry.Locality;
import io.isthmus.registry.ServiceResolver;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.OptionalSslHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;

/**
 * The east-west egress for local callers, on one port for both kinds of caller: the first bytes tell TLS from
 * plaintext ({@link OptionalSslHandler}). Over TLS a caller may authenticate with its own SVID (local trust domain
 * only); otherwise it must send {@code Authorization: Bearer <projected service-account token>} (or
 * {@code Proxy-Authorization}), checked by the {@link TokenAuthenticator}. Requests name a mesh service
 * (absolute URI or Host header), are resolved through the {@link ServiceResolver} nearest first and sent, carrying
 * the caller's identity, as streams of multiplexed HTTP/2 mTLS connections to the peer ingress (all HTTP, not only
 * gRPC; an Upgrade takes a dedicated HTTP/1.1 connection, as it becomes a byte stream). {@code CONNECT <mesh
 * name>:<port>} opens a TCP tunnel through the peer ingress to the service (L4).
 *
 * <p>Reading order for one request: {@link EgressServer#accepted} (the pipeline), {@link EgressHandler} (the
 * connection), {@link EgressExchange} (the request's steps), {@link io.isthmus.proxy.exchange.Exchange} (relaying),
 * {@link H2Pool} (the gateway hop).
 */
public final class EgressServer implements AutoCloseable {
    private final ProxySettings settings;
    private final ProxyTls tls;
    private final ServiceResolver resolver;
    private final Locality locality;
    private final TokenAuthenticator tokens;
    private final ProxyMetrics metrics;
    private final Telemetry telemetry;
    private final H2Pool h2Peers;
    private final Http1Pool upgrades;
    private final Tunnels tunnels;
    private final OutlierDetector outliers;
    private final Listener listener;
    private volatile java.util.function.Supplier<io.netty.channel.ChannelHandler> entry;

    /**
     * @param tokens    checks bearer tokens; null when only SVID callers are accepted
     * @param telemetry records each request and tunnel (cluster labels, access log, spans); {@link Telemetry#none()}
     *                  counts them under {@code unknown} clusters
     */
    public EgressServer(NettyTransport transport, ProxySettings settings, ProxyTls tls, ServiceResolver resolver,
            Locality locality, TokenAuthenticator tokens, ProxyMetrics metrics, Telemetry telemetry) {
        this.settings = settings;
        this.tls = tls;
        this.resolver = resolver;
        this.locality = locality;
        this.tokens = tokens;
        this.metrics = metrics;
        this.telemetry = Objects.requireNonNull(telemetry, "telemetry");
        this.h2Peers = new H2Pool(transport, tls.upstreamH2(), settings);
        this.upgrades = new Http1Pool(transport, tls.upstream(), settings);
        this.tunnels = new Tunnels(transport, settings);
        this.outliers = new OutlierDetector(settings.outliers());
        this.listener = new Listener("egress", transport, settings,
                Listener.gate("egress", settings.egressConnections()), metrics, this::accepted);
    }

    /**
     * Pipeline of an accepted connection: {@code idle}, {@code tls} (steps aside for plaintext), {@code h2c} (prior
     * knowledge), the HTTP/1.1 handlers, {@code egress}.
     */
    private void accepted(SocketChannel ch) {
        HeaderDeadline deadline = new HeaderDeadline(settings.headerTimeout().toNanos());
        if (entry != null) {
            ch.pipeline().addLast(ENTRY, entry.get());
        }
        ch.pipeline().addLast("tls", new OptionalSslHandler(tls.egress()) {
            @Override
            protected SslHandler newSslHandler(ChannelHandlerContext ctx, SslContext ssl) {
                SslHandler h = ProxyTls.fullHandshakes(super.newSslHandler(ctx, ssl));
                h.setHandshakeTimeout(settings.headerTimeout().toMillis(), TimeUnit.MILLISECONDS);
                return h;
            }
        }).addLast("h2c", new Http2Support.PriorKnowledge("egress", settings.maxHeaderSize(), metrics));
        Http1Pipeline.addLast(ch.pipeline(), deadline, settings.maxHeaderSize());
        ch.pipeline().addLast("egress", new EgressHandler(this, deadline));
    }

    /** The pipeline name of the entry handler. */
    public static final String ENTRY = "entry";

    /**
     * Sets a handler that goes first in every connection accepted from now on, before {@code tls}: it sees the first
     * bytes and either removes itself (the connection goes on as usual; a {@code ByteToMessageDecoder} hands on the
     * bytes it holds) or takes the connection over, removing the handlers after it (the SNI routing of end-to-end
     * passthrough, {@link io.isthmus.proxy.sni.EgressSniRouting}). Call before {@link #start}.
     */
    public EgressServer entry(java.util.function.Supplier<io.netty.channel.ChannelHandler> entry) {
        this.entry = entry;
        return this;
    }

    public InetSocketAddress start(InetSocketAddress bind) {
        return listener.start(bind, "plaintext + TLS on one port, " + tls.provider());
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

    Telemetry telemetry() {
        return telemetry;
    }

    Tunnels tunnels() {
        return tunnels;
    }

    ProxyTls tls() {
        return tls;
    }

    /** Multiplexed h2 mTLS connections to peer ingresses: every HTTP request crosses the gateway hop on them. */
    H2Pool h2Peers() {
        return h2Peers;
    }

    /** Dedicated HTTP/1.1 mTLS connections to peer ingresses, one per Upgrade (WebSocket) request. */
    Http1Pool upgrades() {
        return upgrades;
    }

    /** Which peer clusters failed connects in a row and are skipped for now (also for the egress's TCP listeners). */
    public OutlierDetector outliers() {
        return outliers;
    }

    /** How many h2 connections to peer ingresses are open (they carry the gateway hop; for tests and diagnostics). */
    public int openH2PeerConnections() {
        return h2Peers.openConnections();
    }

    /**
     * Re-verifies the SVIDs of TLS callers and of the peer ingresses of pooled connections against the current
     * bundles, closing connections that fail. Call after each bundle change; returns at once.
     */
    public void revalidate() {
        listener.revalidate(tls, metrics);
        Revalidation.recheck(h2Peers.connections(), tls, metrics, "upstream", settings.drainTimeout());
        Revalidation.recheck(upgrades.connections(), tls, metrics, "upstream", settings.drainTimeout());
    }

    @Override
    public void close() {
        listener.close();
        h2Peers.close();
        upgrades.close();
    }
}
