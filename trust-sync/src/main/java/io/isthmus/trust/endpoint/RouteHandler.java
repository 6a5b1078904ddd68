package io.isthmus.trust.endpoint;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.ReadTimeoutException;

/**
 * Hands each whole request to the {@link EndpointRoute} of the longest matching path prefix, on a virtual thread (a
 * route may block; the event loop never does), and writes its answer. One request at a time per connection: reading
 * pauses until the answer is written, so pipelined requests are answered in order. Not sharable: one per connection.
 */
final class RouteHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger LOG = Logger.getLogger(RouteHandler.class);

    /** By descending prefix length, so the first match is the longest (routes may be added while serving). */
    private final Supplier<List<Map.Entry<String, EndpointRoute>>> routes;
    private final ExecutorService executor;
    private final Map<String, Supplier<String>> headers;

    RouteHandler(Supplier<List<Map.Entry<String, EndpointRoute>>> routes, ExecutorService executor,
            Map<String, Supplier<String>> headers) {
        this.routes = routes;
        this.executor = executor;
        this.headers = headers;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        if (!request.decoderResult().isSuccess()) {
            write(ctx, EndpointAnswer.json(400, "{\"error\":\"bad-request\",\"detail\":\"not a readable HTTP/1.1 "
                    + "request\"}"), false);
            return;
        }
        QueryStringDecoder uri = new QueryStringDecoder(request.uri());
        String rawQuery = uri.rawQuery();
        EndpointRequest r = new EndpointRequest(request.method().name(), uri.rawPath(),
                rawQuery.isEmpty() ? Optional.empty() : Optional.of(rawQuery),
                (InetSocketAddress) ctx.channel().remoteAddress(), ByteBufUtil.getBytes(request.content()));
        EndpointRoute route = routes.get().stream().filter(e -> r.path().startsWith(e.getKey())).map(Map.Entry::getValue)
                .findFirst().orElse(null);
        ctx.channel().config().setAutoRead(false);
        try {
            executor.execute(() -> write(ctx, answer(route, r), keepAlive));
        } catch (RejectedExecutionException stopping) {
            ctx.close();
        }
    }

    private static EndpointAnswer answer(EndpointRoute route, EndpointRequest r) {
        if (route == null) {
            return EndpointAnswer.json(404, "{\"error\":\"not-found\",\"detail\":\"the bundle is served at /\"}");
        }
        try {
            return route.answer(r);
        } catch (RuntimeException e) {
            LOG.errorf(e, "bundle endpoint failed to answer %s %s", r.method(), r.path());
            return EndpointAnswer.json(500, "{\"error\":\"internal\",\"detail\":\"the gateway failed to answer; see "
                    + "its log\"}");
        }
    }

    /**
     * Writes {@code a} on the connection's event loop. Called from a route's virtual thread too: if the endpoint
     * stopped meanwhile (its loops no longer take tasks), the answer is dropped with the connection, quietly, instead
     * of a write whose completion Netty can no longer deliver (it logs that as an ERROR).
     */
    private void write(ChannelHandlerContext ctx, EndpointAnswer a, boolean keepAlive) {
        if (ctx.executor().inEventLoop()) {
            send(ctx, a, keepAlive);
            return;
        }
        try {
            ctx.executor().execute(() -> send(ctx, a, keepAlive));
        } catch (RejectedExecutionException stopped) {
            LOG.debugf("bundle endpoint stopped before answering %s", ctx.channel().remoteAddress());
        }
    }

    private void send(ChannelHandlerContext ctx, EndpointAnswer a, boolean keepAlive) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.valueOf(a.status()), Unpooled.wrappedBuffer(a.body().getBytes(StandardCharsets.UTF_8)));
        var h = response.headers();
        headers.forEach((name, value) -> h.set(name, value.get()));
        a.headers().forEach(h::set);
        h.set(HttpHeaderNames.CONTENT_TYPE, a.contentType());
        h.set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        HttpUtil.setContentLength(response, response.content().readableBytes());
        HttpUtil.setKeepAlive(response, keepAlive);
        var written = ctx.writeAndFlush(response);
        if (keepAlive) {
            written.addListener(f -> {
                ctx.channel().config().setAutoRead(true);
                ctx.read();
            });
        } else {
            written.addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
        if (event instanceof SslHandshakeCompletionEvent done && !done.isSuccess()) {
            // A client that did not finish TLS in time, or spoke something else: nothing to answer.
            ctx.close();
            return;
        }
        super.userEventTriggered(ctx, event);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof ReadTimeoutException)) {
            LOG.debugf("bundle endpoint connection from %s closed: %s", ctx.channel().remoteAddress(), cause.toString());
        }
        ctx.close();
    }
}
