package io.isthmus.proxy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;

/**
 * Backends built on Netty's own HTTP server codec, for what the JDK server cannot do: an echo that streams the request
 * body straight back and returns its trailers (and answers {@code Expect: 100-continue} with a real interim response),
 * and a WebSocket echo. Each records the request heads it saw.
 */
public final class NettyBackends implements AutoCloseable {
    private final EventLoopGroup group = new NioEventLoopGroup(2);
    /** "METHOD path" plus the headers the tests look at, one line per request or handshake. */
    public final List<String> seen = new CopyOnWriteArrayList<>();

    /**
     * Streams every request body back in a chunked 200 as it arrives; the response trailers are the request's trailers
     * plus {@code x-echo-bytes} (how many body bytes came).
     */
    public InetSocketAddress echo() throws InterruptedException {
        return echo(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    /** {@link #echo()} on {@code bind}. */
    public InetSocketAddress echo(InetSocketAddress bind) throws InterruptedException {
        return start(bind, new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                // The request head is recorded before Netty's handler answers (and removes) Expect: 100-continue.
                ch.pipeline().addLast(new HttpServerCodec(), new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        if (msg instanceof HttpRequest r) {
                            seen.add(r.method() + " " + r.uri() + " expect=" + r.headers().get("expect") + " te="
                                    + r.headers().get(HttpHeaderNames.TRANSFER_ENCODING) + " length="
                                    + r.headers().get(HttpHeaderNames.CONTENT_LENGTH) + " xfcc="
                                    + r.headers().get("x-forwarded-client-cert"));
                        }
                        ctx.fireChannelRead(msg);
                    }
                }, new HttpServerExpectContinueHandler(),
                        new SimpleChannelInboundHandler<HttpObject>() {
                            private long bytes;

                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
                                if (msg instanceof HttpRequest) {
                                    bytes = 0;
                                    DefaultHttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1,
                                            HttpResponseStatus.OK);
                                    HttpUtil.setTransferEncodingChunked(head, true);
                                    ctx.write(head);
                                }
                                if (msg instanceof HttpContent c) {
                                    bytes += c.content().readableBytes();
                                    if (msg instanceof LastHttpContent last) {
                                        LastHttpContent end = new DefaultLastHttpContent(c.content().retain());
                                        end.trailingHeaders().set(last.trailingHeaders()).set("x-echo-bytes", bytes);
                                        ctx.writeAndFlush(end);
                                    } else {
                                        ctx.writeAndFlush(new DefaultHttpContent(c.content().retain()));
                                    }
                                }
                            }
                        });
            }
        });
    }

    /** A WebSocket echo on {@code /ws}: every text frame comes back as "echo: <text>". */
    public InetSocketAddress webSocket() throws InterruptedException {
        return webSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    /** {@link #webSocket()} on {@code bind}. */
    public InetSocketAddress webSocket(InetSocketAddress bind) throws InterruptedException {
        return start(bind, new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(64 * 1024),
                        new WebSocketServerProtocolHandler("/ws"),
                        new SimpleChannelInboundHandler<TextWebSocketFrame>() {
                            @Override
                            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
                                if (evt instanceof WebSocketServerProtocolHandler.HandshakeComplete hs) {
                                    seen.add("GET " + hs.requestUri() + " upgrade xfcc="
                                            + hs.requestHeaders().get("x-forwarded-client-cert"));
                                }
                                super.userEventTriggered(ctx, evt);
                            }

                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, TextWebSocketFrame frame) {
                                if (frame.text().equals("bye")) {
                                    ctx.writeAndFlush(new TextWebSocketFrame("echo: bye"))
                                            .addListener(ChannelFutureListener.CLOSE);
                                } else {
                                    ctx.writeAndFlush(new TextWebSocketFrame("echo: " + frame.text()));
                                }
                            }
                        });
            }
        });
    }

    private InetSocketAddress start(InetSocketAddress bind, ChannelInitializer<SocketChannel> init)
            throws InterruptedException {
        Channel server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class).childHandler(init)
                .bind(bind).sync().channel();
        return (InetSocketAddress) server.localAddress();
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
