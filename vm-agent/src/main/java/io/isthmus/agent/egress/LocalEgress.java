package io.isthmus.agent.egress;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

import org.jboss.logging.Logger;

import io.isthmus.proxy.transport.NettyTransport;
import io.isthmus.proxy.tunnel.Relay;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;

/**
 * The VM's local egress: a plain HTTP proxy on a loopback port for apps on the VM. A request names a mesh service by
 * Host header ({@code GET /x}, {@code Host: payments.billing.svc.clusterset.local}), absolute URI (HTTP proxy style)
 * or {@code CONNECT payments.billing.svc.clusterset.local:5432} (a TCP tunnel). The app's connection is relayed, as
 * bytes, to the cluster gateway's egress over TLS presenting the VM's current SVID; the gateway parses each request,
 * resolves the name and carries the call (or the tunnel, after its 200) to the cluster that serves it, with the VM's
 * SPIFFE ID as caller. The agent reads only the first request's head, to choose the route ({@link EgressRoute}), so
 * bodies stream in both directions with back-pressure (the gateway's {@link Relay}: the next read only after the
 * previous write), chunked bodies keep their trailers, and the agent's memory does not grow with a body's size. A
 * destination whose export declares passthrough ({@code mtls}) is instead called end to end, TLS with the VM's own
 * SVID to the workload itself ({@link PassthroughRoutes}): the gateways only route it by server name.
 */
public final class LocalEgress implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(LocalEgress.class);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);

    private final NettyTransport transport;
    private final Channel server;
    private final HttpClient client;
    private final InetSocketAddress gatewayEgress;
    private final PassthroughRoutes passthrough;

    /**
     * Lets the JDK HTTP client send the caller's Host header (the mesh name); the agent's other clients (registry
     * lookups) rely on it. Call before any client exists.
     */
    public static void allowHostHeader() {
        String current = System.getProperty("jdk.httpclient.allowRestrictedHeaders", "");
        if (!List.of(current.toLowerCase(Locale.ROOT).split(",")).contains("host")) {
            System.setProperty("jdk.httpclient.allowRestrictedHeaders", current.isBlank() ? "host" : current + ",host");
        }
    }

    private LocalEgress(NettyTransport transport, InetSocketAddress bind, InetSocketAddress gatewayEgress,
            HttpClient client, PassthroughRoutes passthrough) throws IOException {
        this.transport = transport;
        this.client = client;
        this.gatewayEgress = gatewayEgress;
        this.passthrough = passthrough;
        ChannelFuture bound = new ServerBootstrap().group(transport.boss(), transport.workers())
                .channel(transport.serverChannel())
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("first-request", new FirstRequestHandler());
                    }
                }).bind(bind).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            throw new IOException("local egress cannot listen on " + bind + ": " + bound.cause().getMessage(),
                    bound.cause());
        }
        this.server = bound.channel();
    }

    /**
     * @param bind the loopback address to listen on (port 0 picks one)
     * @param gatewayEgress host and port of the cluster gateway's egress
     * @param client an HTTPS client that authenticates the gateway and presents the VM's current SVID (its TLS
     *     context is taken for each connection, so a renewed SVID applies to the next one); closed with this
     */
    public static LocalEgress start(InetSocketAddress bind, InetSocketAddress gatewayEgress, HttpClient client)
            throws IOException {
        return start(bind, gatewayEgress, client, null);
    }

    /**
     * @param passthrough which destinations the VM calls end to end with its own SVID, and how; null: every request
     *     goes to the gateway egress
     */
    public static LocalEgress start(InetSocketAddress bind, InetSocketAddress gatewayEgress, HttpClient client,
            PassthroughRoutes passthrough) throws IOException {
        NettyTransport transport = NettyTransport.create(1, "isthmus-agent-egress");
        try {
            LocalEgress egress = new LocalEgress(transport, bind, gatewayEgress, client, passthrough);
            LOG.infof("local egress on http://%s:%d -> gateway egress %s:%d", bind.getHostString(),
                    egress.address().getPort(), gatewayEgress.getHostString(), gatewayEgress.getPort());
            return egress;
        } catch (IOException | RuntimeException e) {
            transport.close();
            throw e;
        }
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) server.localAddress();
    }

    /**
     * Holds what the app sends until the first request's head is complete, then chooses the route, opens the TLS
     * connection, hands over the held bytes and leaves the rest to two {@link Relay}s. Event loop only.
     */
    private final class FirstRequestHandler extends ChannelInboundHandlerAdapter {
        private CompositeByteBuf held;
        private boolean routed;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            held = ctx.alloc().compositeBuffer(64);
            ctx.read();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (routed || !(msg instanceof ByteBuf buf)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            held.addComponent(true, buf);
            FirstRequest request;
            try {
                request = FirstRequest.parse(held);
            } catch (FirstRequest.Malformed e) {
                refuse(ctx, 400, e.getMessage());
                return;
            }
            if (request == null) {
                ctx.read();
                return;
            }
            routed = true;
            EgressRoute.Route route;
            try {
                route = EgressRoute.choose(request, passthrough == null ? null : passthrough::choose);
            } catch (RuntimeException e) {
                refuse(ctx, 502, "cannot choose a route for " + request.host() + ": " + e.getMessage());
                return;
            }
            switch (route) {
                case EgressRoute.Refused r -> refuse(ctx, r.status(), r.detail());
                case EgressRoute.ViaGateway v -> open(ctx, tls(client), "gateway egress "
                        + gatewayEgress.getHostString() + ":" + gatewayEgress.getPort(), held.retainedDuplicate());
                case EgressRoute.EndToEnd e -> {
                    ByteBuf first = Unpooled.wrappedBuffer(Unpooled.wrappedBuffer(request.forWorkload()),
                            held.retainedSlice(held.readerIndex() + request.headLength(),
                                    held.readableBytes() - request.headLength()));
                    open(ctx, tls(passthrough.client(e.route())), "end-to-end TLS to " + e.route().serverName()
                            + " via gateway egress " + gatewayEgress.getHostString() + ":" + gatewayEgress.getPort(), first);
                }
            }
        }

        /** Connects, handshakes, writes {@code first} and splices; any failure before that is the app's 502. */
        private void open(ChannelHandlerContext ctx, SSLEngine engine, String what, ByteBuf first) {
            Channel down = ctx.channel();
            SslHandler ssl = new SslHandler(engine);
            ssl.setHandshakeTimeout(CONNECT_TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            ChannelFuture connecting = transport.client(down.eventLoop(), CONNECT_TIMEOUT)
                    .handler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast("tls", ssl);
                        }
                    }).connect(gatewayEgress);
            Channel up = connecting.channel();
            // The app left before the far end was ready: nothing to relay.
            down.closeFuture().addListener(f -> up.close());
            connecting.addListener(c -> {
                if (!c.isSuccess()) {
                    first.release();
                    refuse(ctx, 502, what + " unreachable: " + reason(c.cause()));
                    return;
                }
                ssl.handshakeFuture().addListener(h -> {
                    if (!h.isSuccess()) {
                        first.release();
                        up.close();
                        refuse(ctx, 502, what + " unreachable: " + reason(h.cause()));
                        return;
                    }
                    if (!down.isActive()) {
                        first.release();
                        up.close();
                        return;
                    }
                    up.writeAndFlush(first);
                    down.pipeline().remove(this);
                    Relay.splice(down, up);
                });
            });
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            if (held != null) {
                held.release();
                held = null;
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debugf("local egress connection from %s: %s", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }

    /** A TLS client engine from {@code c}'s context and parameters (server name, protocols), taken now. */
    private SSLEngine tls(HttpClient c) {
        SSLEngine engine = c.sslContext().createSSLEngine(gatewayEgress.getHostString(), gatewayEgress.getPort());
        engine.setUseClientMode(true);
        SSLParameters params = c.sslParameters();
        if (params != null) {
            engine.setSSLParameters(params);
        }
        return engine;
    }

    private static String reason(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null && b.length() < 1000; c = c.getCause()) {
            if (c.getMessage() != null && b.indexOf(c.getMessage()) < 0) {
                b.append(b.length() == 0 ? "" : ": ").append(c.getMessage());
            }
        }
        return b.length() == 0 ? t.getClass().getSimpleName() : b.toString();
    }

    private static void refuse(ChannelHandlerContext ctx, int status, String text) {
        if (!ctx.channel().isActive()) {
            return;
        }
        byte[] body = (text + "\n").getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 " + status + " " + (status == 400 ? "Bad Request" : status == 502 ? "Bad Gateway"
                : "Error") + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + body.length
                + "\r\nConnection: close\r\n\r\n";
        ctx.writeAndFlush(Unpooled.wrappedBuffer(head.getBytes(StandardCharsets.ISO_8859_1), body))
                .addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void close() {
        server.close().awaitUninterruptibly();
        transport.close();
        client.close();
        if (passthrough != null) {
            passthrough.close();
        }
    }
}
