package io.isthmus.proxy.transport;

import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * The event loops of one proxy (ingress and egress share them): epoll on Linux, NIO elsewhere. Upstream
 * connections are made on the event loop of the downstream connection that needs them, so a request and its
 * upstream exchange never cross threads.
 */
public final class NettyTransport implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(NettyTransport.class);

    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final boolean epoll;

    private NettyTransport(int threads, String name) {
        this.epoll = Epoll.isAvailable();
        if (epoll) {
            boss = new EpollEventLoopGroup(1, new DefaultThreadFactory(name + "-accept", true));
            workers = new EpollEventLoopGroup(threads, new DefaultThreadFactory(name + "-io", true));
        } else {
            boss = new NioEventLoopGroup(1, new DefaultThreadFactory(name + "-accept", true));
            workers = new NioEventLoopGroup(threads, new DefaultThreadFactory(name + "-io", true));
        }
        LOG.debugf("%s: %d %s event loops", name, threads, epoll ? "epoll" : "NIO");
    }

    /** @param threads event loop threads; 0 means Netty's default (twice the cores) */
    public static NettyTransport create(int threads, String name) {
        return new NettyTransport(threads, name);
    }

    public EventLoopGroup boss() {
        return boss;
    }

    public EventLoopGroup workers() {
        return workers;
    }

    public boolean epoll() {
        return epoll;
    }

    public Class<? extends ServerSocketChannel> serverChannel() {
        return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    public Class<? extends SocketChannel> clientChannel() {
        return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    @Override
    public void close() {
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        boss.terminationFuture().syncUninterruptibly();
    }
}
