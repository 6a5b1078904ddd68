package io.isthmus.proxy.transport;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsServerAddressStreamProvider;
import io.netty.resolver.dns.DnsServerAddressStreamProviders;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * The event loops of one proxy (ingress and egress share them): epoll on Linux, NIO elsewhere. Upstream
 * connections are made on the event loop of the downstream connection that needs them, so a request and its
 * upstream exchange never cross threads.
 *
 * <p>Host names of upstreams (peer ingresses announced by name, backends) are resolved by Netty's DNS resolver
 * ({@link #resolver()}): queries go out over UDP from the event loop that connects and complete as events, so a slow
 * or unanswering name server holds up only the connections that need that name, never the event loop. It reads
 * {@code /etc/hosts} and {@code /etc/resolv.conf}, caches answers for their TTL, and takes IP literals as they are.
 * (Netty's default resolver calls {@code InetAddress.getByName} on the event loop, blocking every connection of
 * that loop for as long as the lookup takes.)
 */
public final class NettyTransport implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(NettyTransport.class);

    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final boolean epoll;
    private final DnsAddressResolverGroup resolver;

    private NettyTransport(int threads, String name, DnsServerAddressStreamProvider nameServers,
            java.time.Duration queryTimeout) {
        this.epoll = Epoll.isAvailable();
        if (epoll) {
            boss = new EpollEventLoopGroup(1, new DefaultThreadFactory(name + "-accept", true));
            workers = new EpollEventLoopGroup(threads, new DefaultThreadFactory(name + "-io", true));
        } else {
            boss = new NioEventLoopGroup(1, new DefaultThreadFactory(name + "-accept", true));
            workers = new NioEventLoopGroup(threads, new DefaultThreadFactory(name + "-io", true));
        }
        Class<? extends DatagramChannel> udp = epoll ? EpollDatagramChannel.class : NioDatagramChannel.class;
        DnsNameResolverBuilder dns = new DnsNameResolverBuilder().datagramChannelType(udp)
                .socketChannelType(clientChannel()).nameServerProvider(nameServers)
                .queryTimeoutMillis(queryTimeout.toMillis());
        if (nameServers != DnsServerAddressStreamProviders.platformDefault()) {
            dns.searchDomains(java.util.List.of());
        }
        resolver = new DnsAddressResolverGroup(dns);
        LOG.debugf("%s: %d %s event loops", name, threads, epoll ? "epoll" : "NIO");
    }

    /** @param threads event loop threads; 0 means Netty's default (twice the cores) */
    public static NettyTransport create(int threads, String name) {
        return new NettyTransport(threads, name, DnsServerAddressStreamProviders.platformDefault(),
                java.time.Duration.ofSeconds(5));
    }

    /**
     * Like {@link #create(int, String)}, asking only the given name servers, with no search domains, instead of
     * what {@code /etc/resolv.conf} says (tests run their own), each query given up after {@code queryTimeout}.
     */
    public static NettyTransport create(int threads, String name, DnsServerAddressStreamProvider nameServers,
            java.time.Duration queryTimeout) {
        return new NettyTransport(threads, name, nameServers, queryTimeout);
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

    /**
     * A client bootstrap on {@code loop} (upstream connections stay on the loop of the caller that needs them): this
     * transport's channel type and asynchronous resolver, TCP_NODELAY, and {@code connectTimeout}.
     */
    public io.netty.bootstrap.Bootstrap client(io.netty.channel.EventLoop loop, java.time.Duration connectTimeout) {
        return new io.netty.bootstrap.Bootstrap().group(loop).channel(clientChannel()).resolver(resolver)
                .option(io.netty.channel.ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeout.toMillis())
                .option(io.netty.channel.ChannelOption.TCP_NODELAY, true);
    }

    /** The asynchronous resolver every upstream {@code Bootstrap} of this transport uses. */
    public AddressResolverGroup<InetSocketAddress> resolver() {
        return resolver;
    }

    @Override
    public void close() {
        resolver.close();
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        boss.terminationFuture().syncUninterruptibly();
    }
}
