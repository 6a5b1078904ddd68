package io.isthmus.proxy;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.X509TrustManager;

import io.isthmus.trust.svid.X509Svid;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;

/**
 * A minimal HTTP/2 test client on Netty: one connection (TLS with ALPN h2 and an optional SVID, or h2c with prior
 * knowledge), one stream per request, responses aggregated.
 */
final class H2Client implements AutoCloseable {
    record Response(int status, io.netty.handler.codec.http.HttpHeaders headers, String body) {
        String reason() {
            return headers.get("x-isthmus-reason");
        }
    }

    private final NioEventLoopGroup group = new NioEventLoopGroup(1);
    private final Channel channel;
    private final String alpn;

    private H2Client(InetSocketAddress to, SslContext tls) throws Exception {
        Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (tls != null) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc(), to.getHostString(), to.getPort()));
                        }
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build(),
                                new Http2MultiplexHandler(new SimpleChannelInboundHandler<Object>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
                                    }
                                }));
                    }
                });
        channel = b.connect(to).sync().channel();
        SslHandler ssl = channel.pipeline().get(SslHandler.class);
        if (ssl != null) {
            ssl.handshakeFuture().sync();
            alpn = ssl.applicationProtocol();
        } else {
            alpn = "h2c";
        }
    }

    /** HTTP/2 over TLS, offering only h2 by ALPN, presenting {@code svid} (may be null). */
    static H2Client tls(InetSocketAddress to, X509Svid svid, X509TrustManager trust) throws Exception {
        SslContextBuilder b = SslContextBuilder.forClient().sslProvider(SslProvider.JDK).trustManager(trust)
                .endpointIdentificationAlgorithm(null).protocols("TLSv1.3")
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ApplicationProtocolNames.HTTP_2));
        if (svid != null) {
            b.keyManager(svid.key(), svid.chain().toArray(java.security.cert.X509Certificate[]::new));
        }
        return new H2Client(to, b.build());
    }

    /** h2c with prior knowledge (plaintext). */
    static H2Client h2c(InetSocketAddress to) throws Exception {
        return new H2Client(to, null);
    }

    boolean isOpen() {
        return channel.isActive();
    }

    String negotiated() {
        return alpn;
    }

    Response get(String path, String authority, String... headers) throws Exception {
        return send(HttpMethod.GET, path, authority, null, headers);
    }

    Response send(HttpMethod method, String path, String authority, byte[] body, String... headers) throws Exception {
        CompletableFuture<Response> result = new CompletableFuture<>();
        Http2StreamChannel stream = new Http2StreamChannelBootstrap(channel)
                .handler(new ChannelInitializer<Http2StreamChannel>() {
                    @Override
                    protected void initChannel(Http2StreamChannel ch) {
                        ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(false),
                                new HttpObjectAggregator(1 << 20),
                                new SimpleChannelInboundHandler<FullHttpResponse>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse r) {
                                        result.complete(new Response(r.status().code(), r.headers().copy(),
                                                r.content().toString(StandardCharsets.UTF_8)));
                                    }

                                    @Override
                                    public void channelInactive(ChannelHandlerContext ctx) {
                                        result.completeExceptionally(new IllegalStateException("stream closed"));
                                    }
                                });
                    }
                }).open().sync().getNow();
        FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, path,
                body == null ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
        request.headers().set(HttpHeaderNames.HOST, authority);
        request.headers().set(HttpConversionUtil.ExtensionHeaderNames.SCHEME.text(), alpn.equals("h2c") ? "http" : "https");
        for (String h : headers) {
            int colon = h.indexOf(':');
            request.headers().add(h.substring(0, colon).trim(), h.substring(colon + 1).trim());
        }
        stream.writeAndFlush(request);
        return result.get(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
