package io.isthmus.trust.endpoint;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

import io.isthmus.trust.concurrent.Workers;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * A small HTTPS/1.1 server for public, read-mostly endpoints (the SPIFFE bundle endpoint and what shares its port),
 * on Netty. Per connection, in order: the {@link ConnectionGate} admits or closes it (before any TLS work); TLS with
 * the given context (server authentication only), which must finish within {@code HANDSHAKE_TIMEOUT}; HTTP/1.1
 * with bodies up to {@code MAX_BODY}; routes answer on virtual threads. A client's address is used as an IP address
 * only: nothing here looks it up in DNS (the JDK's HTTPS server did, once per connection, before the handshake).
 * Thread-safe.
 */
public final class HttpsEndpoint implements AutoCloseable {
    private static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    /** A connection that sends nothing for this long is closed (peers poll every few minutes, on new connections). */
    private static final Duration IDLE_TIMEOUT = Duration.ofSeconds(30);
    /**
     * Above the largest body a route reads (the membership document, 256 KiB), so that a route's own limit gives its
     * typed refusal; beyond it the server answers 413 and closes.
     */
    private static final int MAX_BODY = 264 * 1024;
    /** How long answers being computed at stop may take to be written. */
    private static final Duration STOP_GRACE = Duration.ofSeconds(2);
    private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME;

    private final EventLoopGroup loops;
    private final ExecutorService routesExecutor;
    private final ConnectionGate gate;
    private volatile Channel listener;
    private volatile List<Map.Entry<String, EndpointRoute>> routes = List.of();

    private HttpsEndpoint(String name, ConnectionGate gate) {
        this.loops = new NioEventLoopGroup(2, new DefaultThreadFactory(name, true));
        this.routesExecutor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name(name + "-", 0).factory());
        this.gate = gate;
    }

    /**
     * Binds and starts. {@code name} names the threads; {@code headers} are added to every answer (each value read
     * per answer); {@code parameters} are every connection's TLS parameters.
     *
     * @throws IOException when the address cannot be bound
     */
    public static HttpsEndpoint start(String name, InetSocketAddress bind, SSLContext tls, SSLParameters parameters,
            ConnectionGate gate, Map<String, Supplier<String>> headers) throws IOException {
        HttpsEndpoint endpoint = new HttpsEndpoint(name, gate);
        Map<String, Supplier<String>> every = new LinkedHashMap<>(headers);
        every.put("Date", () -> HTTP_DATE.format(ZonedDateTime.now(ZoneOffset.UTC)));
        ServerBootstrap b = new ServerBootstrap().group(endpoint.loops).channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 128)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        endpoint.connected(ch, tls, parameters, every);
                    }
                });
        try {
            endpoint.listener = b.bind(bind).sync().channel();
            return endpoint;
        } catch (Exception e) {
            endpoint.close();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IOException("cannot listen on " + bind.getHostString() + ":" + bind.getPort() + ": " + e, e);
        }
    }

    /** A new connection: admitted (or closed) before any TLS work, then TLS, HTTP/1.1 and the routes. */
    private void connected(SocketChannel ch, SSLContext tls, SSLParameters parameters,
            Map<String, Supplier<String>> headers) {
        String client = ch.remoteAddress().getAddress().getHostAddress();
        if (gate.open(client) instanceof ConnectionAdmission.Verdict.Refused) {
            ch.close();
            return;
        }
        ch.closeFuture().addListener(f -> gate.closed(client));
        SSLEngine engine = tls.createSSLEngine();
        engine.setUseClientMode(false);
        engine.setSSLParameters(parameters);
        SslHandler ssl = new SslHandler(engine);
        ssl.setHandshakeTimeoutMillis(HANDSHAKE_TIMEOUT.toMillis());
        ch.pipeline().addLast(ssl, new ReadTimeoutHandler(IDLE_TIMEOUT.toSeconds(), TimeUnit.SECONDS),
                new HttpServerCodec(), new HttpObjectAggregator(MAX_BODY),
                new RouteHandler(() -> routes, routesExecutor, headers));
    }

    /** Serves {@code route} at {@code prefix} and every path below it that no longer prefix claims. */
    public synchronized void serve(String prefix, EndpointRoute route) {
        List<Map.Entry<String, EndpointRoute>> next = new ArrayList<>(routes);
        next.removeIf(e -> e.getKey().equals(prefix));
        next.add(Map.entry(prefix, route));
        next.sort(Comparator.comparingInt((Map.Entry<String, EndpointRoute> e) -> e.getKey().length()).reversed());
        routes = List.copyOf(next);
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    public ConnectionGate gate() {
        return gate;
    }

    /**
     * Stops accepting, gives the answers being computed {@link #STOP_GRACE} to be written (their connections still
     * open), then closes every connection.
     */
    @Override
    public void close() {
        if (listener != null) {
            listener.close().awaitUninterruptibly();
        }
        Workers.stop(routesExecutor, STOP_GRACE);
        loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
    }
}
