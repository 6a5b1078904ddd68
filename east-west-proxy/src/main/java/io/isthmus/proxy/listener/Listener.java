package io.isthmus.proxy.listener;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.proxy.tls.ProxyTls;
import io.isthmus.proxy.tls.Revalidation;
import io.isthmus.proxy.transport.NettyTransport;
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
 * share. Every accepted connection starts with the handler {@value #IDLE} (a connection from which nothing arrives
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
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private volatile Channel channel;
    private volatile LeastConnectedLoops loops;

    /** @param name what the log and the revalidation metrics call this listener ({@code ingress}, {@code egress}) */
    public Listener(String name, NettyTransport transport, ProxySettings settings, Setup setup) {
        this.name = name;
        this.transport = transport;
        this.settings = settings;
        this.setup = setup;
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
