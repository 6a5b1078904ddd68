package io.isthmus.proxy;

import java.net.InetSocketAddress;
import java.net.URI;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakerFactory;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.handler.ssl.SslContext;

/**
 * Netty's WebSocket client, calling {@code ws://<mesh host><path>} through a gateway's egress: the connection goes to
 * the egress address, the Host header names the mesh service. Text frames that arrive are queued in {@link #received}.
 */
public final class WebSocketClient implements AutoCloseable {
    public final BlockingQueue<String> received = new LinkedBlockingQueue<>();
    /** Completes when the handshake did (the 101 arrived), exceptionally when it was refused. */
    public final CompletableFuture<Void> handshake = new CompletableFuture<>();
    private final Channel channel;

    /**
     * @param tls the TLS context to the egress (a workload's SVID), or null for plaintext
     * @param headers extra handshake headers (a bearer token, say)
     */
    public WebSocketClient(EventLoopGroup group, InetSocketAddress egress, SslContext tls, String meshHost,
            String path, HttpHeaders headers) throws InterruptedException {
        var handshaker = WebSocketClientHandshakerFactory.newHandshaker(URI.create("ws://" + meshHost + path),
                WebSocketVersion.V13, null, false, headers);
        channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (tls != null) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                        }
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(64 * 1024),
                                new WebSocketClientProtocolHandler(handshaker),
                                new SimpleChannelInboundHandler<TextWebSocketFrame>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, TextWebSocketFrame f) {
                                        received.add(f.text());
                                    }

                                    @Override
                                    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                        if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent
                                                .HANDSHAKE_COMPLETE) {
                                            handshake.complete(null);
                                        }
                                    }

                                    @Override
                                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                        handshake.completeExceptionally(cause);
                                        ctx.close();
                                    }
                                });
                    }
                }).connect(egress).sync().channel();
    }

    public void send(String text) {
        channel.writeAndFlush(new TextWebSocketFrame(text));
    }

    public ChannelFuture closeFuture() {
        return channel.closeFuture();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }
}
