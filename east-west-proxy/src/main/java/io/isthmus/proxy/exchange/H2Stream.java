package io.isthmus.proxy.exchange;

import java.util.function.LongSupplier;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.http.HttpObject;
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
 * One HTTP/2 stream the gateway opened upstream, without a channel of its own: its frames are written to, and read
 * from, its connection's {@link H2ClientStreams} handler, which creates it ({@link H2ClientStreams#open}). The first
 * HEADERS written gives it its id. What it reads goes to the bound exchange as HTTP objects ({@link FrameConversion}):
 * <ul>
 * <li>DATA: its padding goes back to the sender at once; its data only once the exchange relayed it
 * ({@link #giveBack}: manual flow control, so a slow caller holds the sender back by one stream window);</li>
 * <li>HEADERS: a response head, an interim 1xx, or trailers;</li>
 * <li>RST_STREAM: {@link UpstreamEvents#upstreamReset}; a GOAWAY that did not cover it:
 * {@link UpstreamEvents#upstreamGoingAway}; the stream or connection closing first: {@link UpstreamEvents#upstreamClosed}.
 * Each ends the stream once; none answers with a reset of its own;</li>
 * <li>nothing either way for the request timeout: {@link UpstreamEvents#upstreamIdle} ({@link IdleTimer}).</li>
 * </ul>
 * A stream that ends, however, is counted once by its connection (the pool's stream limit). Event loop only.
 */
public final class H2Stream implements Upstream {
    private final H2ClientStreams connection;
    private final Http2FrameStream stream;
    private final IdleTimer idle;
    private UpstreamEvents events;
    private boolean registered;
    private boolean ended;
    private boolean inRead;

    H2Stream(H2ClientStreams connection, Http2FrameStream stream, long idleNanos, LongSupplier clock) {
        this.connection = connection;
        this.stream = stream;
        this.idle = new IdleTimer(connection.ctx().executor(), idleNanos, clock, this::idle);
    }

    @Override
    public void bind(UpstreamEvents e) {
        events = e;
    }

    @Override
    public void unbind() {
        events = null;
    }

    /** The stream's id: -1 until its first HEADERS were written. */
    public int id() {
        return stream.id();
    }

    /** Whether the stream has ended (closed, reset either way, not covered by a GOAWAY, or its connection gone). */
    public boolean ended() {
        return ended;
    }

    // ---- what the exchange does --------------------------------------------------------------------------------

    @Override
    public ChannelFuture write(HttpObject msg) {
        ChannelHandlerContext ctx = connection.ctx();
        if (ended) {
            ReferenceCountUtil.release(msg);
            return ctx.newFailedFuture(new IllegalStateException("the HTTP/2 stream " + stream.id() + " has ended"));
        }
        idle.activity();
        Http2StreamFrame[] frames = connection.frames();
        int n;
        try {
            n = FrameConversion.toFrames(msg, connection.scheme(), frames);
        } catch (EncoderException e) {
            return ctx.newFailedFuture(e);
        }
        ChannelFuture last = null;
        for (int i = 0; i < n; i++) {
            last = ctx.write(frames[i].stream(stream));
            frames[i] = null;
            if (!registered && stream.id() > 0) {
                // The first HEADERS were just given an id: from now on frames for it find this stream.
                registered = true;
                if (!ended) {
                    connection.register(this);
                }
            }
        }
        return last != null ? last : ctx.newSucceededFuture();
    }

    @Override
    public void flush() {
        connection.ctx().flush();
    }

    /**
     * The connection is writable and, while the request is still being sent, the stream's send window has room. Once
     * the request has ended (END_STREAM sent) the stream takes nothing more, and only the connection counts: Netty's
     * flow controller calls a half-closed stream not writable, and an exchange that asked it then paused its caller
     * until the response ended (two epoll_ctl calls per request on the egress's caller connection).
     */
    @Override
    public boolean isWritable() {
        return connection.ctx().channel().isWritable() && connection.streamWritable(stream);
    }

    @Override
    public void setAutoRead(boolean autoRead) {
        // An HTTP/2 stream is held back by its window, not by pausing the connection (which carries other streams).
    }

    @Override
    public void giveBack(int bytes) {
        if (bytes > 0) {
            idle.activity();
            connection.consume(stream, bytes);
        }
    }

    @Override
    public void reset(long errorCode) {
        if (ended) {
            return;
        }
        Http2Stream s = connection.http2Stream(stream);
        if (s != null && s.state() != Http2Stream.State.CLOSED) {
            connection.ctx().writeAndFlush(new DefaultHttp2ResetFrame(errorCode).stream(stream));
        }
        end();
    }

    @Override
    public void close() {
        reset(Http2Error.CANCEL.code());
    }

    @Override
    public Channel channel() {
        return connection.ctx().channel();
    }

    @Override
    public boolean http2() {
        return true;
    }

    // ---- what the connection's handler tells it ----------------------------------------------------------------

    /** A frame of this stream; returns whether it took part in this read (for {@link #readComplete}). */
    boolean read(Http2StreamFrame frame) {
        idle.reading();
        UpstreamEvents e = events;
        if (frame instanceof Http2ResetFrame reset) {
            // The peer ended the stream: nothing to reset in return.
            end();
            if (e != null) {
                e.upstreamReset(reset.errorCode());
            }
            return false;
        }
        if (frame instanceof Http2DataFrame data) {
            connection.consume(stream, FrameConversion.padding(data));
            if (e == null) {
                data.release();
                close();
                return false;
            }
            e.fromUpstream(FrameConversion.fromData(data));
        } else if (frame instanceof Http2HeadersFrame headers) {
            if (e == null) {
                close();
                return false;
            }
            HttpObject converted;
            try {
                converted = FrameConversion.fromHeaders(headers, false);
            } catch (Http2Exception | RuntimeException bad) {
                failed(bad, Http2Error.PROTOCOL_ERROR.code());
                return false;
            }
            e.fromUpstream(converted);
        } else {
            ReferenceCountUtil.release(frame);
            return false;
        }
        boolean first = !inRead;
        inRead = true;
        return first;
    }

    /** The connection's read is complete: what was relayed may be flushed to the caller. */
    void readComplete() {
        inRead = false;
        idle.readComplete();
        UpstreamEvents e = events;
        if (e != null) {
            e.flushDownstream();
        }
    }

    /** The connection can take more, or the stream's send window opened. */
    void writabilityChanged() {
        UpstreamEvents e = events;
        if (e != null && isWritable()) {
            e.upstreamWritabilityChanged(true);
        }
    }

    /** A GOAWAY whose last stream id is below this stream's: the peer never processed it (safe to send again). */
    void goingAway(long errorCode) {
        if (ended) {
            return;
        }
        UpstreamEvents e = events;
        end();
        if (e != null) {
            e.upstreamGoingAway("the peer sent GOAWAY (" + errorCode + ") before processing it");
        }
    }

    /** The stream closed, or its connection did ({@code cause} when it broke), before the exchange let it go. */
    void closed(Throwable cause) {
        if (ended) {
            return;
        }
        UpstreamEvents e = events;
        end();
        if (e != null) {
            e.upstreamClosed(cause);
        }
    }

    /** A stream error ({@code cause}): the stream is reset with {@code errorCode} and its exchange told. */
    void failed(Throwable cause, long errorCode) {
        if (ended) {
            return;
        }
        UpstreamEvents e = events;
        reset(errorCode);
        if (e != null) {
            e.upstreamClosed(cause);
        }
    }

    /** No frame either way for the request timeout. */
    void idle() {
        UpstreamEvents e = events;
        if (e == null) {
            close();
        } else {
            e.upstreamIdle();
        }
    }

    void start() {
        idle.start();
    }

    private void end() {
        if (!ended) {
            ended = true;
            idle.stop();
            connection.ended(this);
        }
    }

    @Override
    public String toString() {
        return "stream " + stream.id() + " on " + connection.ctx().channel();
    }
}
