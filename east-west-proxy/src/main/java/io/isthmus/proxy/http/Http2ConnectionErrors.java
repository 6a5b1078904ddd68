package io.isthmus.proxy.http;

import java.util.Locale;

import org.jboss.logging.Logger;

import io.isthmus.proxy.metrics.ProxyMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;

/**
 * How an HTTP/2 connection the gateway terminates is shed, seen by the gateway. When a client breaks a
 * connection-wide limit (Rapid Reset's stream of RST_STREAM, resets it provoked the server into, a CONTINUATION
 * flood, control frames it does not read the answers to), Netty's codec sends GOAWAY with the error and closes the
 * connection. {@link #goAwaySent} counts that once per connection in
 * {@code isthmus_requests_refused_total{listener, reason="http2-<error>"}} (the codes stream resets use, e.g.
 * {@code http2-enhance-your-calm}) and logs it at DEBUG with the peer's address. As the connection's last handler,
 * {@link #exceptionCaught} takes the error the codec then passes on: without it, it reached the end of the pipeline,
 * where Netty logs a WARN with a stack trace that names no peer, once per attacking connection. One instance per
 * connection, event loop only.
 */
public final class Http2ConnectionErrors extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = Logger.getLogger(Http2ConnectionErrors.class);

    private final String listener;
    private final ProxyMetrics metrics;
    private final Channel connection;
    private boolean counted;

    public Http2ConnectionErrors(String listener, ProxyMetrics metrics, Channel connection) {
        this.listener = listener;
        this.metrics = metrics;
        this.connection = connection;
    }

    /**
     * The refusal code of the error a GOAWAY carries: {@code http2-} and the HTTP/2 error's name in lower case with
     * dashes ({@code http2-error-<code>} for a code HTTP/2 does not define). NO_ERROR (a graceful GOAWAY: a drain, a
     * stop) is no refusal: null.
     */
    public static String reason(long errorCode) {
        if (errorCode == Http2Error.NO_ERROR.code()) {
            return null;
        }
        Http2Error error = Http2Error.valueOf(errorCode);
        return error == null ? "http2-error-" + errorCode
                : "http2-" + error.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The listener to add to the codec's connection ({@code Http2FrameCodec.connection().addListener}). */
    public Http2ConnectionAdapter goAwaySent() {
        return new Http2ConnectionAdapter() {
            @Override
            public void onGoAwaySent(int lastStreamId, long errorCode, ByteBuf debugData) {
                String reason = reason(errorCode);
                if (reason != null && !counted) {
                    counted = true;
                    metrics.requestRefused(listener, reason);
                    LOG.debugf("%s: ending the HTTP/2 connection from %s: GOAWAY %s (%s)", listener,
                            connection.remoteAddress(), reason, debugData.toString(java.nio.charset.StandardCharsets.UTF_8));
                }
            }
        };
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debugf("%s: HTTP/2 connection from %s: %s", listener, ctx.channel().remoteAddress(), cause.toString());
        // The codec answered its own errors (GOAWAY, then close); anything else (a reset socket) ends the connection.
        if (!(cause instanceof Http2Exception) && !(cause.getCause() instanceof Http2Exception)) {
            ctx.close();
        }
    }
}
