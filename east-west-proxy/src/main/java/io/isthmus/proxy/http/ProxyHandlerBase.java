package io.isthmus.proxy.http;

import org.jboss.logging.Logger;

import io.isthmus.proxy.http.validate.DecoderFailures;
import io.isthmus.proxy.http.validate.RequestVerdict;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * What the ingress and egress handlers share: one request at a time per connection (a pipelined request is held
 * and reading pauses until the current one is answered: back-pressure, and responses stay in order), malformed and oversized requests
 * answered and closed, idle connections closed, and every answer counted. Event loop only; one per connection.
 */
public abstract class ProxyHandlerBase extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = Logger.getLogger(ProxyHandlerBase.class);

    protected final ProxyMetrics metrics;
    protected final String direction;
    private final HeaderDeadline deadline;
    private boolean busy;
    /** A pipelined request that arrived while the previous one was being served (at most one: reading is off). */
    private FullHttpRequest queued;

    protected ProxyHandlerBase(ProxyMetrics metrics, String direction, HeaderDeadline deadline) {
        this.metrics = metrics;
        this.direction = direction;
        this.deadline = deadline;
    }

    @Override
    public final void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest request)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (busy) {
            // A pipelined request: hold it and stop reading until the current one is answered. Only here is
            // autoRead switched off, because each switch costs an epoll_ctl system call.
            ctx.channel().config().setAutoRead(false);
            if (queued != null) {
                // Cannot happen with reading off; refuse rather than queue without bound.
                request.release();
                ctx.close();
                return;
            }
            queued = request;
            return;
        }
        serve(ctx, request);
    }

    private void serve(ChannelHandlerContext ctx, FullHttpRequest request) {
        busy = true;
        long start = System.nanoTime();
        DecoderResult result = request.decoderResult();
        if (!result.isSuccess()) {
            request.release();
            RequestVerdict.Invalid refusal = DecoderFailures.classify(result.cause());
            metrics.requestRefused(direction, refusal.reason().code());
            LOG.debugf("%s: refused a request from %s: %s (%s)", direction, ctx.channel().remoteAddress(),
                    refusal.reason().code(), refusal.detail());
            respond(ctx, false, Responses.error(ctx.alloc(), HttpResponseStatus.valueOf(refusal.reason().status()),
                    refusal.reason().code(), refusal.detail()), "unauthenticated", "-", start);
            return;
        }
        if (Http2Support.isStream(ctx.channel())
                && request.method().equals(io.netty.handler.codec.http.HttpMethod.CONNECT)) {
            // A tunnel needs the connection's raw bytes; an HTTP/2 stream carries frames. Use HTTP/1.1 CONNECT.
            request.release();
            respond(ctx, false, Responses.error(ctx.alloc(), HttpResponseStatus.NOT_IMPLEMENTED,
                    "connect-over-http2-unsupported", "open TCP tunnels with an HTTP/1.1 CONNECT"), "unauthenticated",
                    "-", start);
            return;
        }
        try {
            handle(ctx, request, start);
        } catch (RuntimeException e) {
            LOG.errorf(e, "%s: unexpected failure serving %s %s", direction, request.method(), request.uri());
            ReferenceCountUtil.safeRelease(request);
            respond(ctx, false, Responses.error(ctx.alloc(), HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal-error",
                    e.toString()), "unauthenticated", "-", start);
        }
    }

    /** Serves one complete request (ownership passes) and eventually calls {@link #respond} exactly once. */
    protected abstract void handle(ChannelHandlerContext ctx, FullHttpRequest request, long startNanos);

    /** Called once the TLS handshake completes (successfully or not); the default does nothing. */
    protected void handshakeDone(ChannelHandlerContext ctx, SslHandshakeCompletionEvent event) {
    }

    /**
     * Writes the answer to the current request, counts it, and resumes reading (or closes when either side
     * does not keep the connection alive).
     */
    protected final void respond(ChannelHandlerContext ctx, boolean keepAlive, FullHttpResponse response,
            String source, String destination, long startNanos) {
        HopByHop.strip(response.headers());
        // A draining connection (its peer's signer was retired) serves this exchange as its last.
        boolean keep = keepAlive && ctx.channel().isActive()
                && !io.isthmus.proxy.tls.ConnectionDrain.isDraining(Http2Support.connection(ctx.channel()));
        if (keep) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        } else {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        if (!response.trailingHeaders().isEmpty()) {
            // Trailers (gRPC's grpc-status) survive an HTTP/1.1 hop only in chunked encoding; on an HTTP/2 stream
            // the codec sends them as a trailing HEADERS frame.
            response.headers().remove(HttpHeaderNames.CONTENT_LENGTH);
            if (!Http2Support.isStream(ctx.channel())) {
                HttpUtil.setTransferEncodingChunked(response, true);
            }
        } else if (!response.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
            HttpUtil.setContentLength(response, response.content().readableBytes());
        }
        metrics.request(direction, source, destination, response.status().code(), startNanos);
        deadline.requestDone();
        if (!ctx.channel().isActive()) {
            response.release();
            return;
        }
        if (keep) {
            ctx.writeAndFlush(response).addListener(f -> {
                busy = false;
                if (!f.isSuccess()) {
                    ctx.close();
                } else if (queued != null) {
                    FullHttpRequest next = queued;
                    queued = null;
                    serve(ctx, next);
                } else if (!ctx.channel().config().isAutoRead()) {
                    ctx.channel().config().setAutoRead(true);
                }
            });
        } else {
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (queued != null) {
            queued.release();
            queued = null;
        }
        super.channelInactive(ctx);
    }

    protected static boolean keepAlive(FullHttpRequest request) {
        return HttpUtil.isKeepAlive(request);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent) {
            ctx.close();
        } else if (evt instanceof SslHandshakeCompletionEvent handshake) {
            handshakeDone(ctx, handshake);
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Http2Exception streamError = Http2Support.isStream(ctx.channel()) ? http2Cause(cause) : null;
        if (streamError != null) {
            // A malformed stream (say, a body longer than its content-length): reset it with the error the codec
            // named, so the client learns why; the connection and its other streams go on.
            String reason = "http2-" + streamError.error().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
            metrics.requestRefused(direction, reason);
            LOG.debugf("%s: resetting a stream from %s: %s", direction, ctx.channel().parent().remoteAddress(),
                    streamError.getMessage());
            ctx.writeAndFlush(new DefaultHttp2ResetFrame(streamError.error())).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        // Handshake failures are counted in handshakeDone; anything else here is a broken connection.
        LOG.debugf("%s: closing %s: %s", direction, ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }

    private static Http2Exception http2Cause(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof Http2Exception e) {
                return e;
            }
        }
        return null;
    }
}
