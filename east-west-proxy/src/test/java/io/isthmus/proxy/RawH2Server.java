package io.isthmus.proxy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.function.BiConsumer;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;

/** A peer for tests of what the gateway sends upstream over HTTP/2. */
public final class RawH2Server {
    private RawH2Server() {
    }

    /**
     * A raw HTTP/2 server on loopback (TLS when {@code tls} is given, h2c otherwise) that tells {@code onHeaders} about
     * the HEADERS of every stream (with the stream's context, to answer or reset it) and does nothing else by itself.
     */
    public static InetSocketAddress bind(EventLoopGroup group, SslContext tls,
            BiConsumer<ChannelHandlerContext, Http2HeadersFrame> onHeaders) throws InterruptedException {
        return (InetSocketAddress) new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (tls != null) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                        }
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forServer().build(),
                                new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                                    @Override
                                    protected void initChannel(Http2StreamChannel s) {
                                        s.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                            @Override
                                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                                if (msg instanceof Http2HeadersFrame h) {
                                                    onHeaders.accept(ctx, h);
                                                }
                                                ReferenceCountUtil.release(msg);
                                            }
                                        });
                                    }
                                }));
                    }
                }).bind(InetAddress.getLoopbackAddress(), 0).sync().channel().localAddress();
    }
}
