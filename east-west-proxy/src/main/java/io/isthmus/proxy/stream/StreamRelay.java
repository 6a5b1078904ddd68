package io.isthmus.proxy.stream;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannelOption;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;

/**
 * Relays one admitted gRPC call between the caller's HTTP/2 stream ({@code downstream}, behind a
 * {@link StreamGate}) and the stream opened for it upstream, frame by frame as they arrive, in both directions:
 * <ul>
 * <li>back-pressure by HTTP/2 flow control: automatic stream flow control is off on both streams, and the window for a
 * DATA frame is given back to its sender (WINDOW_UPDATE) only once the frame was written on the other stream. A
 * sender can therefore have at most one stream window (64 KiB by default) in the gateway per direction, however
 * slow the receiver; toggling autoRead is not needed;</li>
 * <li>half-close: the caller's END_STREAM is forwarded; the response's END_STREAM (gRPC trailers) ends the call, and
 * a request still open then is cancelled on both sides;</li>
 * <li>RST_STREAM from either side is forwarded with its error code; an upstream stream that breaks (connection lost,
 * write failed) or stays silent in both directions for the idle timeout ends the call with gRPC trailers from the
 * gateway (UNAVAILABLE, DEADLINE_EXCEEDED), or a reset if the response already ended.</li>
 * </ul>
 * Event loop only: both streams belong to connections of the same event loop (the pools are per loop).
 */
public final class StreamRelay {
    /** Told once, when the call is over: the HTTP status to count and the gRPC status ({@code "reset"} if none). */
    @FunctionalInterface
    public interface Outcome {
        void ended(int httpStatus, String grpcStatus);
    }

    private static final String GRPC_STATUS = "grpc-status";
    private static final String GRPC_MESSAGE = "grpc-message";
    private static final String UNAVAILABLE = "14";
    private static final String DEADLINE_EXCEEDED = "4";

    private final Channel downstream;
    private final Channel upstream;
    private final Duration idleTimeout;
    private final Outcome outcome;
    private final ChannelFutureListener upstreamWritten = f -> {
        if (!f.isSuccess()) {
            upstreamFailed(502, UNAVAILABLE, "writing to the upstream stream failed: " + f.cause());
        }
    };
    /** The response's {@code :status}, 0 until the response headers were forwarded. */
    private int status;
    private String grpcStatus;
    private boolean requestEnded;
    /** No more frames are relayed (the response ended, or the call was reset or failed). */
    private boolean over;
    private boolean counted;

    private StreamRelay(Channel downstream, Channel upstream, Duration idleTimeout, Outcome outcome) {
        this.downstream = downstream;
        this.upstream = upstream;
        this.idleTimeout = idleTimeout;
        this.outcome = outcome;
    }

    /**
     * The upstream request headers for {@code request} (the handler's admitted, rewritten copy of the caller's
     * headers): HTTP/2 pseudo-headers from its method, URI and Host, {@code te: trailers} as gRPC requires, scheme
     * by whether {@code upstream}'s connection is TLS. Does not release {@code request}.
     */
    public static Http2Headers requestHeaders(FullHttpRequest request, Channel upstream) {
        boolean tls = upstream.parent().pipeline().get(SslHandler.class) != null;
        request.headers().set(HttpConversionUtil.ExtensionHeaderNames.SCHEME.text(), tls ? "https" : "http");
        Http2Headers headers = HttpConversionUtil.toHttp2Headers(request, false);
        headers.set(HttpHeaderNames.TE, HttpHeaderValues.TRAILERS);
        return headers;
    }

    /**
     * Sends {@code headers} on {@code upstream} (a fresh stream with an idle-state handler of {@code idleTimeout} in
     * both directions) and, once they are written, relays the call held by {@code gate}. The returned future fails
     * when the headers could not be written: nothing was sent, {@code upstream} is closed, the gate still holds the
     * call and the caller may try elsewhere or answer by itself. After success {@code outcome} is told exactly once.
     */
    public static Future<Void> start(StreamGate gate, Channel upstream, Http2Headers headers, Duration idleTimeout,
            Outcome outcome) {
        StreamRelay relay = new StreamRelay(gate.channel(), upstream, idleTimeout, outcome);
        relay.requestEnded = gate.headersEndStream();
        // Until the headers are written the upstream end ignores its stream: a failure then is the caller's to handle.
        relay.over = true;
        relay.counted = true;
        Promise<Void> written = upstream.eventLoop().newPromise();
        manualFlowControl(upstream);
        upstream.pipeline().addLast("relay", relay.new UpstreamEnd());
        upstream.writeAndFlush(new DefaultHttp2HeadersFrame(headers, relay.requestEnded)).addListener(f -> {
            if (!f.isSuccess()) {
                upstream.close();
                written.setFailure(f.cause());
                return;
            }
            relay.over = false;
            relay.counted = false;
            written.setSuccess(null);
            gate.relayTo(relay);
            if (!upstream.isActive()) {
                relay.upstreamFailed(502, UNAVAILABLE, "the upstream stream closed before the response ended");
            }
        });
        return written;
    }

    void fromDownstream(Object msg) {
        if (over) {
            ReferenceCountUtil.release(msg);
        } else if (msg instanceof Http2DataFrame data) {
            requestEnded |= data.isEndStream();
            int window = data.initialFlowControlledBytes();
            ChannelFuture f = upstream.write(new DefaultHttp2DataFrame(data.content(), data.isEndStream()));
            f.addListener(upstreamWritten);
            if (window > 0) {
                f.addListener(w -> returnWindow(w, downstream, window));
            }
            if (data.isEndStream()) {
                upstream.flush();
            }
        } else if (msg instanceof Http2HeadersFrame trailers) {
            requestEnded = true;
            upstream.writeAndFlush(new DefaultHttp2HeadersFrame(trailers.headers(), true)).addListener(upstreamWritten);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    void flushUpstream() {
        upstream.flush();
    }

    /** Gives {@code bytes} of window back to the sender on {@code from} once they were written to its peer. */
    private static void returnWindow(Future<?> written, Channel from, int bytes) {
        if (written.isSuccess() && from.isActive()) {
            from.write(new DefaultHttp2WindowUpdateFrame(bytes));
            from.flush();
        }
    }

    /** Called before anything is read on {@code stream}: its window is given back by the relay, not on reading. */
    static void manualFlowControl(Channel stream) {
        stream.config().setOption(Http2StreamChannelOption.AUTO_STREAM_FLOW_CONTROL, false);
    }

    /** The caller reset its stream: reset ours with the same code. */
    void downstreamReset(long errorCode) {
        if (over) {
            return;
        }
        over = true;
        count(status > 0 ? status : 499, "reset");
        if (upstream.isActive()) {
            upstream.writeAndFlush(new DefaultHttp2ResetFrame(errorCode)).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** The caller's stream closed (connection lost, or after a reset): cancel the upstream stream. */
    void downstreamClosed() {
        if (!over) {
            over = true;
            count(status > 0 ? status : 499, "reset");
        }
        if (upstream.isActive()) {
            upstream.close();
        }
    }

    private void fromUpstream(Object msg) {
        if (over) {
            ReferenceCountUtil.release(msg);
        } else if (msg instanceof Http2HeadersFrame frame) {
            Http2Headers headers = frame.headers();
            if (status == 0 && headers.status() != null) {
                int code = Integer.parseInt(headers.status().toString());
                if (code >= 200) {
                    status = code;
                }
            }
            CharSequence g = headers.get(GRPC_STATUS);
            if (g != null) {
                grpcStatus = g.toString();
            }
            ChannelFuture f = downstream.writeAndFlush(new DefaultHttp2HeadersFrame(headers, frame.isEndStream()));
            if (frame.isEndStream()) {
                responseEnded(f);
            }
        } else if (msg instanceof Http2DataFrame data) {
            int window = data.initialFlowControlledBytes();
            ChannelFuture f = downstream.write(new DefaultHttp2DataFrame(data.content(), data.isEndStream()));
            if (window > 0) {
                f.addListener(w -> returnWindow(w, upstream, window));
            }
            if (data.isEndStream()) {
                downstream.flush();
                responseEnded(f);
            }
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    private void responseEnded(ChannelFuture lastWrite) {
        over = true;
        count(status, grpcStatus == null ? "none" : grpcStatus);
        lastWrite.addListener(f -> {
            // The answer is complete; a request still open has no one left to read it (RST_STREAM CANCEL).
            if (!requestEnded || !f.isSuccess()) {
                downstream.close();
                upstream.close();
            }
        });
    }

    private void upstreamReset(long errorCode) {
        if (over) {
            return;
        }
        over = true;
        count(status > 0 ? status : 502, "reset");
        if (downstream.isActive()) {
            downstream.writeAndFlush(new DefaultHttp2ResetFrame(errorCode)).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /**
     * The upstream stream broke or went silent: end the caller's call with gRPC trailers carrying {@code grpcCode}
     * (a trailers-only response if no response headers were sent yet), and cancel the upstream stream.
     */
    private void upstreamFailed(int httpStatus, String grpcCode, String message) {
        if (over) {
            return;
        }
        over = true;
        count(status > 0 ? status : httpStatus, grpcCode);
        upstream.close();
        if (!downstream.isActive()) {
            return;
        }
        Http2Headers trailers = new DefaultHttp2Headers();
        if (status == 0) {
            trailers.status("200").set(HttpHeaderNames.CONTENT_TYPE, "application/grpc");
        }
        trailers.set(GRPC_STATUS, grpcCode).set(GRPC_MESSAGE, percentEncode("isthmus gateway: " + message));
        downstream.writeAndFlush(new DefaultHttp2HeadersFrame(trailers, true)).addListener(f -> {
            if (!requestEnded || !f.isSuccess()) {
                downstream.close();
            }
        });
    }

    private void count(int httpStatus, String grpc) {
        if (!counted) {
            counted = true;
            outcome.ended(httpStatus, grpc);
        }
    }

    /** grpc-message is percent-encoded UTF-8 (gRPC over HTTP/2 spec). */
    static String percentEncode(String message) {
        StringBuilder out = new StringBuilder(message.length());
        for (byte b : message.getBytes(StandardCharsets.UTF_8)) {
            if (b >= 0x20 && b < 0x7f && b != '%') {
                out.append((char) b);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)))
                        .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
            }
        }
        return out.toString();
    }

    /** The relay's handler on the upstream stream. */
    private final class UpstreamEnd extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            fromUpstream(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            downstream.flush();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof Http2ResetFrame reset) {
                upstreamReset(reset.errorCode());
            } else if (evt instanceof IdleStateEvent) {
                upstreamFailed(504, DEADLINE_EXCEEDED, "no frames in either direction for " + idleTimeout);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            upstreamFailed(502, UNAVAILABLE, "the upstream stream closed before the response ended");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            upstreamFailed(502, UNAVAILABLE, "the upstream stream failed: " + cause.getMessage());
        }
    }
}
