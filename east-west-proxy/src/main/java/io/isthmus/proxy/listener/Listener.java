package io.isthmus.proxy.listener;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.proxy.tls.ProxyTls;
import io.isthmus.proxy.tls.Revalidation;
import io.isthmus.proxy.transport.NettyTransport;
import io.isthmus.trust.endpoint.ConnectionAdmission;
import io.isthmus.trust.endpoint.ConnectionGate;
import io.isthmus.trust.endpoint.ConnectionLimits;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;

/**
 * One listening socket of the data plane and the connections it accepted: the bootstrap the ingress and the egress
 * share. Every accepted connection is first admitted by the listener's {@link ConnectionGate} (at most so many open
 * connections per client address and in all): one over a limit is closed at once, before any handler or TLS work,
 * and counted in {@code isthmus_refused_connections_total{listener,reason}}; the gate logs a WARN at most once a
 * minute per address, naming it and the setting to raise. An admitted connection starts with the handler
 * {@value #IDLE} (a connection from which nothing arrives
 * for {@link ProxySettings#idleTimeout()} is told so by an {@code IdleStateEvent}, which the request handler turns
 * into a close unless an exchange is in progress), then whatever the listener's {@link Setup} appends. The
 * connections are kept in one group, so that {@link #close} ends them and {@link #revalidate} re-checks their peers.
 * Thread-safe: {@link #start} and {@link #close} from any thread, the setup on the connection's event loop.
 */
public final class Listener implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Listener.class);

    /** The name of the first handler of every accepted connection. */
    public static final String IDLE = "idle";

    /** Appends a listener's own handlers to a newly accepted connection, on its event loop, before it reads. */
    @FunctionalInterface
    public interface Setup {
        void init(SocketChannel connection);
    }

    private final String name;
    private final NettyTransport transport;
    private final ProxySettings settings;
    private final Setup setup;
    private final ConnectionGate gate;
    private final ProxyMetrics metrics;
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private volatile Channel channel;
    private volatile LeastConnectedLoops loops;

    /**
     * @param name    what the log and the metrics call this listener ({@code ingress}, {@code egress})
     * @param gate    admits each accepted connection (listeners that share one gate share its limits)
     * @param metrics counts the connections the gate refused
     */
    public Listener(String name, NettyTransport transport, ProxySettings settings, ConnectionGate gate,
            ProxyMetrics metrics, Setup setup) {
        this.name = name;
        this.transport = transport;
        this.settings = settings;
        this.gate = Objects.requireNonNull(gate, "gate");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.setup = setup;
    }

    /**
     * A gate with {@code limits} for the listener {@code name}; its warnings call it {@code east-west <name>}. Share
     * one gate between listeners to give them one count.
     */
    public static ConnectionGate gate(String name, ConnectionLimits limits) {
        return new ConnectionGate(limits, Clock.systemUTC(), "east-west " + name);
    }

    /**
     * Binds and starts accepting; returns the bound address (port 0 picks a free port).
     *
     * @param description how the start is logged, e.g. {@code "mTLS, OPENSSL"}
     */
    public InetSocketAddress start(InetSocketAddress bind, String description) {
        loops = new LeastConnectedLoops(transport.workers());
        ServerBootstrap b = new ServerBootstrap().group(transport.boss(), loops)
                .channel(transport.serverChannel()).option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (!admitted(ch)) {
                            return;
                        }
                        connections.add(ch);
                        ch.pipeline().addLast(IDLE, new IdleStateHandler(settings.idleTimeout().toNanos(), 0, 0,
                                TimeUnit.NANOSECONDS));
                        setup.init(ch);
                    }
                });
        channel = b.bind(bind).syncUninterruptibly().channel();
        InetSocketAddress bound = address();
        LOG.infof("east-west %s (%s) listening on %s", name, description, bound);
        return bound;
    }

    /**
     * Whether the gate admits {@code ch}: if so, the connection is counted until it closes; if not, it is closed now,
     * before any handler is added (no TLS engine, no buffers), and the refusal counted.
     */
    private boolean admitted(SocketChannel ch) {
        InetSocketAddress remote = ch.remoteAddress();
        String client = remote == null || remote.getAddress() == null ? String.valueOf(remote)
                : remote.getAddress().getHostAddress();
        if (gate.open(client) instanceof ConnectionAdmission.Verdict.Refused refused) {
            metrics.connectionRefused(name, refused.reason().setting());
            ch.close();
            return false;
        }
        ch.closeFuture().addListener(f -> gate.closed(client));
        return true;
    }

    /** The gate that admits this listener's connections. */
    public ConnectionGate gate() {
        return gate;
    }

    /**
     * A server-side TLS handler for an accepted connection, whose handshake must end within the header timeout and is
     * always a full one ({@link ProxyTls#fullHandshakes}).
     */
    public SslHandler tls(io.netty.handler.ssl.SslContext context, SocketChannel connection) {
        SslHandler ssl = ProxyTls.fullHandshakes(context.newHandler(connection.alloc()));
        ssl.setHandshakeTimeout(settings.headerTimeout().toMillis(), TimeUnit.MILLISECONDS);
        return ssl;
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** How many of this listener's open connections each worker loop holds (in the workers' order). */
    int[] connectionsPerLoop() {
        LeastConnectedLoops l = loops;
        return l == null ? new int[0] : l.openPerLoop();
    }

    /** The open accepted connections (HTTP/2 streams are children of these). */
    public ChannelGroup connections() {
        return connections;
    }

    /**
     * Re-verifies the SVID of every connection's TLS peer against the current roots and bundles: closes those that
     * fail, drains (within {@link ProxySettings#drainTimeout()}) those whose signer was retired. Connections without
     * a verified peer certificate are left alone. Returns at once.
     */
    public void revalidate(ProxyTls tls, ProxyMetrics metrics) {
        Revalidation.recheck(connections, tls, metrics, name, settings.drainTimeout());
    }

    /** Stops accepting and closes every open connection. */
    @Override
    public void close() {
        if (channel != null) {
            channel.close().syncUninterruptibly();
        }
        connections.close().awaitUninterruptibly();
    }
}
