package io.isthmus.proxy.tunnel;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.transport.NettyTransport;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;

/**
 * TCP tunnels (HTTP CONNECT): connecting the far end (the caller's side becomes a byte relay with
 * {@link io.isthmus.proxy.exchange.Splice}). Tunnels are not pooled: one TCP stream per connection. Host names are
 * resolved by the transport's asynchronous resolver.
 */
public final class Tunnels {
    private final NettyTransport transport;
    private final ProxySettings settings;

    public Tunnels(NettyTransport transport, ProxySettings settings) {
        this.transport = transport;
        this.settings = settings;
    }

    /** A plain TCP connection on {@code loop} (ingress side: to the local backend), not yet reading. */
    public Future<Channel> connectPlain(EventLoop loop, InetSocketAddress address) {
        Promise<Channel> ready = loop.newPromise();
        ChannelFuture f = bootstrap(loop, new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                ch.config().setAutoRead(false);
            }
        }).connect(address);
        f.addListener(c -> {
            if (c.isSuccess()) {
                ready.trySuccess(f.channel());
            } else {
                ready.tryFailure(c.cause());
            }
        });
        return ready;
    }

    /**
     * An mTLS connection to a peer ingress that has sent {@code CONNECT authority} with the caller asserted and
     * received the answer. Success carries the channel (HTTP handlers removed, not reading) and the peer's
     * response; a connect or handshake failure fails the future (nothing was sent: safe to try another cluster).
     *
     * @param peerCheck asked once the handshake is done, before anything is sent: null to go on, or why this peer
     *     must not get the request (the future then fails with {@link WrongPeerException})
     */
    public Future<Opened> connectThroughIngress(EventLoop loop, InetSocketAddress ingress, SslContext tls,
            String authority, String callerHeader, String caller,
            java.util.function.Function<Channel, String> peerCheck) {
        return connectThroughIngress(loop, ingress, tls, null, authority, callerHeader, caller, peerCheck);
    }

    /**
     * The same, sending {@code serverName} as the ClientHello's SNI (null: none), by which the peer ingress routes
     * the connection before its handshake ({@link io.isthmus.proxy.sni.RouteName}).
     */
    public Future<Opened> connectThroughIngress(EventLoop loop, InetSocketAddress ingress, SslContext tls,
            String serverName, String authority, String callerHeader, String caller,
            java.util.function.Function<Channel, String> peerCheck) {
        Promise<Opened> result = loop.newPromise();
        Promise<FullHttpResponse> answer = loop.newPromise();
        ChannelFuture f = bootstrap(loop, new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                SslHandler ssl;
                if (serverName == null) {
                    ssl = io.isthmus.proxy.tls.ProxyTls.clientHandler(tls, ch, settings.connectTimeout());
                } else {
                    ssl = tls.newHandler(ch.alloc(), serverName, ingress.getPort());
                    ssl.setHandshakeTimeout(settings.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
                }
                ch.pipeline().addLast("tls", ssl).addLast("http", new HttpClientCodec())
                        .addLast("aggregate", new HttpObjectAggregator(64 * 1024))
                        .addLast("answer", new AnswerHandler(answer));
            }
        }).connect(ingress);
        f.addListener(c -> {
            if (!c.isSuccess()) {
                result.tryFailure(c.cause());
                return;
            }
            Channel ch = f.channel();
            ch.pipeline().get(SslHandler.class).handshakeFuture().addListener(h -> {
                if (!h.isSuccess()) {
                    ch.close();
                    result.tryFailure(h.cause());
                    return;
                }
                String wrongPeer = peerCheck.apply(ch);
                if (wrongPeer != null) {
                    ch.close();
                    result.tryFailure(new WrongPeerException(wrongPeer));
                    return;
                }
                var request = new io.netty.handler.codec.http.DefaultFullHttpRequest(HttpVersion.HTTP_1_1,
                        io.netty.handler.codec.http.HttpMethod.CONNECT, authority, Unpooled.EMPTY_BUFFER);
                request.headers().set(io.netty.handler.codec.http.HttpHeaderNames.HOST, authority)
                        .set(callerHeader, caller);
                ch.writeAndFlush(request);
                ch.read();
            });
        });
        answer.addListener(a -> {
            Channel ch = f.channel();
            if (a.isSuccess()) {
                FullHttpResponse response = answer.getNow();
                List<ByteBuf> early = List.of();
                if (response.status().code() == 200) {
                    // The far end's first bytes may have come with the answer (a server that speaks first): they
                    // flow out of the HTTP handlers into HeldBytes, and go to the caller before anything else.
                    ChannelPipeline p = ch.pipeline();
                    p.addLast(HeldBytes.NAME, new HeldBytes());
                    p.remove("answer");
                    p.remove("aggregate");
                    p.remove("http");
                    early = HeldBytes.take(ch);
                }
                result.trySuccess(new Opened(ch, response, early));
            } else {
                ch.close();
                result.tryFailure(a.cause());
            }
        });
        return result;
    }

    /**
     * The far end of a tunnel and how the peer ingress answered the CONNECT (200, or a refusal to relay); after a 200,
     * {@code early} holds the tunnel bytes that came with the answer (a server that speaks first), in order, for the
     * caller's side before anything else.
     */
    public record Opened(Channel channel, FullHttpResponse response, List<ByteBuf> early) {
    }

    private Bootstrap bootstrap(EventLoop loop, ChannelHandler init) {
        return transport.client(loop, settings.connectTimeout()).option(ChannelOption.AUTO_READ, false).handler(init);
    }

    private static final class AnswerHandler extends ChannelInboundHandlerAdapter {
        private final Promise<FullHttpResponse> answer;

        AnswerHandler(Promise<FullHttpResponse> answer) {
            this.answer = answer;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof FullHttpResponse r && !answer.isDone()) {
                answer.trySuccess(r);
            } else if (msg instanceof io.netty.buffer.ByteBuf && answer.isDone()) {
                // Tunnel bytes after a 200 (the codec passes them on raw): for HeldBytes behind this handler.
                ctx.fireChannelRead(msg);
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            answer.tryFailure(new java.io.IOException("the peer ingress closed the tunnel before answering CONNECT"));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            answer.tryFailure(cause);
            ctx.close();
        }
    }

    /** The peer ingress verified, but is not the one the request may go to; nothing was sent to it. */
    public static final class WrongPeerException extends Exception {
        public WrongPeerException(String message) {
            super(message, null, false, false);
        }
    }
}
