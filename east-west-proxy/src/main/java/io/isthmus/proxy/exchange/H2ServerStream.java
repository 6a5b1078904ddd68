package io.isthmus.proxy.exchange;

import io.isthmus.proxy.http.Http2RequestValidation;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.ReferenceCountUtil;

/**
 * One HTTP/2 stream a caller opened on a listener connection, without a channel of its own: its connection's
 * {@link H2ServerStreams} handler creates it on the stream's first HEADERS and hands it the stream's frames; it is
 * the {@link Downstream} of the one exchange the stream carries. What it reads, in order:
 * <ol>
 * <li>the first HEADERS: checked by {@link Http2RequestValidation#refusal} before anything converts them; a refused
 * stream's exchange gets the stand-in request that names the refusal, and the rest of the stream is dropped. Else
 * they become the request ({@link FrameConversion}, without the {@code x-http2-*} extension headers). The exchange
 * starts once the connection's read is complete ({@link #readComplete}), as on HTTP/1.1;</li>
 * <li>DATA: its padding goes back to the caller at once, its data only once the exchange wrote it upstream
 * ({@link #giveBack}: manual flow control, so a slow upstream holds the caller back by one stream window);</li>
 * <li>HEADERS that end the stream: the request's trailers;</li>
 * <li>RST_STREAM: {@link Exchange#downstreamReset}; the stream or its connection closing before the exchange is over,
 * or a stream error the codec found (answered with RST_STREAM naming it): {@link Exchange#downstreamClosed}. Each
 * ends the stream once.</li>
 * </ol>
 * What the exchange writes becomes frames on the connection. When the exchange is over the stream ends after its last
 * write, with RST_STREAM (CANCEL) if the caller had not finished its request. Event loop only.
 */
final class H2ServerStream implements Downstream {
    private final H2ServerStreams connection;
    private final Http2FrameStream stream;
    private Exchange current;
    private boolean startPending;
    private boolean refused;
    private boolean ended;
    private boolean inRead;

    H2ServerStream(H2ServerStreams connection, Http2FrameStream stream) {
        this.connection = connection;
        this.stream = stream;
    }

    int id() {
        return stream.id();
    }

    boolean ended() {
        return ended;
    }

    // ---- what the connection's handler tells it ----------------------------------------------------------------

    /** A frame of this stream; returns whether it took part in this read for the first time ({@link #readComplete}). */
    boolean read(Http2StreamFrame frame) {
        if (frame instanceof Http2ResetFrame reset) {
            // The caller ended the stream: nothing to reset in return.
            Exchange e = current;
            current = null;
            startPending = false;
            end();
            if (e != null) {
                e.downstreamReset(reset.errorCode());
                e.downstreamClosed();
            }
            return false;
        }
        if (ended) {
            ReferenceCountUtil.release(frame);
            return false;
        }
        if (frame instanceof Http2DataFrame data) {
            giveBack(FrameConversion.padding(data));
            Exchange e = current;
            if (refused || e == null || e.requestEnded()) {
                // The rest of a refused or answered request.
                data.release();
                return false;
            }
            e.fromDownstream(FrameConversion.fromData(data));
        } else if (frame instanceof Http2HeadersFrame headers) {
            if (!begun()) {
                begin(headers);
            } else if (!refused && current != null && !current.requestEnded()) {
                HttpObject trailers;
                try {
                    trailers = FrameConversion.fromHeaders(headers, true);
                } catch (Http2Exception e) {
                    streamError(e.error(), e);
                    return false;
                }
                if (trailers instanceof HttpContent part) {
                    current.fromDownstream(part);
                } else {
                    ReferenceCountUtil.release(trailers);
                }
            }
        } else {
            ReferenceCountUtil.release(frame);
            return false;
        }
        boolean first = !inRead;
        inRead = true;
        return first;
    }

    private boolean begun() {
        return current != null || refused || startPending;
    }

    private void begin(Http2HeadersFrame headers) {
        HttpRequest head = Http2RequestValidation.refusal(headers.headers());
        if (head != null) {
            refused = true;
        } else {
            HttpObject converted;
            try {
                converted = FrameConversion.fromHeaders(headers, true);
            } catch (Http2Exception e) {
                streamError(e.error(), e);
                return;
            }
            if (!(converted instanceof HttpRequest request)) {
                ReferenceCountUtil.release(converted);
                streamError(Http2Error.PROTOCOL_ERROR, null);
                return;
            }
            head = request;
        }
        long start = System.nanoTime();
        current = connection.listener().newExchange(this, head, start);
        startPending = true;
    }

    /** The connection's read is complete: a request whose head came in it starts; what was relayed is flushed. */
    void readComplete() {
        inRead = false;
        if (startPending) {
            startPending = false;
            current.begin();
        }
        Exchange e = current;
        if (e != null) {
            e.flushUpstream();
        }
    }

    /** The connection can take more, or cannot; or the stream's send window opened or closed. */
    void writabilityChanged() {
        Exchange e = current;
        if (e != null) {
            e.downstreamWritabilityChanged(isWritable());
        }
    }

    /** The stream closed, or its connection did, before the exchange let it go. */
    void closed() {
        if (ended) {
            return;
        }
        Exchange e = current;
        current = null;
        startPending = false;
        end();
        if (e != null) {
            e.downstreamClosed();
        }
    }

    /**
     * A malformed stream (say, a body longer than its content-length): reset with the error the codec named, so the
     * caller learns why; the connection and its other streams go on.
     */
    void streamError(Http2Error error, Throwable cause) {
        if (ended) {
            return;
        }
        connection.streamRefused(this, error, cause);
        reset(error.code());
        closed();
    }

    // ---- what the exchange does (Downstream) -------------------------------------------------------------------

    @Override
    public ChannelFuture write(HttpObject msg) {
        ChannelHandlerContext ctx = connection.ctx();
        if (ended) {
            ReferenceCountUtil.release(msg);
            return ctx.newFailedFuture(new IllegalStateException("the HTTP/2 stream " + stream.id() + " has ended"));
        }
        Http2StreamFrame[] frames = connection.frames();
        int n;
        try {
            n = FrameConversion.toFrames(msg, null, frames);
        } catch (EncoderException e) {
            return ctx.newFailedFuture(e);
        }
        ChannelFuture last = null;
        for (int i = 0; i < n; i++) {
            last = ctx.write(frames[i].stream(stream));
            frames[i] = null;
        }
        return last != null ? last : ctx.newSucceededFuture();
    }

    @Override
    public ChannelFuture writeAndFlush(HttpObject msg) {
        ChannelFuture f = write(msg);
        flush();
        return f;
    }

    @Override
    public void flush() {
        connection.ctx().flush();
    }

    @Override
    public boolean isWritable() {
        return connection.ctx().channel().isWritable() && connection.sendable(stream);
    }

    @Override
    public boolean isActive() {
        return !ended && connection.ctx().channel().isActive();
    }

    @Override
    public void giveBack(int bytes) {
        connection.giveBack(stream, bytes);
    }

    @Override
    public void pause(int reason) {
        // A stream is held back by its window (giveBack), not by pausing the connection, which carries other streams.
    }

    @Override
    public void resume(int reasons) {
    }

    @Override
    public ChannelFuture reset(long errorCode) {
        ChannelHandlerContext ctx = connection.ctx();
        Http2Stream s = connection.http2Stream(stream);
        if (s == null || s.state() == Http2Stream.State.CLOSED || s.isResetSent()) {
            return ctx.newSucceededFuture();
        }
        return ctx.writeAndFlush(new DefaultHttp2ResetFrame(errorCode).stream(stream));
    }

    @Override
    public void close() {
        reset(Http2Error.CANCEL.code());
        closed();
    }

    @Override
    public void exchangeDone(Exchange e, boolean keepAlive, ChannelFuture lastWrite) {
        if (current != e) {
            return;
        }
        current = null;
        startPending = false;
        lastWrite.addListener(f -> {
            // The caller's request had not ended (an early answer), or the response could not be sent whole.
            reset(Http2Error.CANCEL.code());
            end();
        });
    }

    @Override
    public void switched(Exchange e) {
        // An HTTP/2 stream never switches protocols (an upgrade or a CONNECT on one is refused).
    }

    @Override
    public Channel connection() {
        return connection.ctx().channel();
    }

    @Override
    public boolean http2() {
        return true;
    }

    private void end() {
        if (!ended) {
            ended = true;
            connection.ended(this);
        }
    }

    @Override
    public String toString() {
        return "stream " + stream.id() + " from " + connection.ctx().channel().remoteAddress();
    }
}
