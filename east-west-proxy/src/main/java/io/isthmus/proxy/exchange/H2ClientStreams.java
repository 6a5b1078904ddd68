package io.isthmus.proxy.exchange;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpScheme;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ChannelDuplexHandler;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2FrameStreamEvent;
import io.netty.handler.codec.http2.Http2FrameStreamException;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.handler.codec.http2.Http2WindowUpdateFrame;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.collection.IntObjectMap;

/**
 * The last handler of a pooled HTTP/2 client connection, right behind its {@code Http2FrameCodec} (and the pool's
 * SETTINGS/GOAWAY watcher): it opens the connection's streams ({@link #open}: an {@link H2Stream}, no child channel,
 * pipeline or per-stream promise) and hands every frame to its stream by id. For the connection as a whole:
 * <ul>
 * <li>GOAWAY: each stream above the last stream id the peer processed is told so ({@link H2Stream#goingAway}: the
 * exchange sends the request again elsewhere); the streams below it finish;</li>
 * <li>writability: a stream whose send window opened, and every stream once the connection drains its outbound
 * buffer, may resume its caller's reading;</li>
 * <li>the connection closing or breaking: every stream still open is told once ({@link H2Stream#closed});</li>
 * <li>a stream error from the codec (a malformed frame on one stream): that stream alone is reset and told.</li>
 * </ul>
 * Connection-level frames (SETTINGS, PING, WINDOW_UPDATE on stream 0) end here. A connection-level error closes the
 * connection. Event loop only; one per connection.
 */
public final class H2ClientStreams extends Http2ChannelDuplexHandler {

    private final long idleNanos;
    private final LongSupplier clock;
    private final Runnable onStreamEnd;
    private final IntObjectMap<H2Stream> streams = new IntObjectHashMap<>();
    /** The streams that read a frame in the current read of the connection. */
    private final List<H2Stream> reading = new ArrayList<>(4);
    /** The frames of one write: {@link FrameConversion#toFrames} makes at most three. */
    private final Http2StreamFrame[] frames = new Http2StreamFrame[3];
    private ChannelHandlerContext ctx;
    private Http2Connection connection;
    private HttpScheme scheme;

    /**
     * @param idleNanos   the request timeout: a stream on which nothing moved either way for so long is idle
     * @param onStreamEnd run once for every stream {@link #open} made, when it ended (the pool's count of streams)
     */
    public H2ClientStreams(long idleNanos, Runnable onStreamEnd) {
        this(idleNanos, System::nanoTime, onStreamEnd);
    }

    H2ClientStreams(long idleNanos, LongSupplier clock, Runnable onStreamEnd) {
        this.idleNanos = idleNanos;
        this.clock = clock;
        this.onStreamEnd = onStreamEnd;
    }

    @Override
    protected void handlerAdded0(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.connection = ctx.pipeline().get(Http2FrameCodec.class).connection();
        // Only requests carry :scheme; every stream of the connection has the same.
        this.scheme = ctx.pipeline().get(SslHandler.class) != null ? HttpScheme.HTTPS : HttpScheme.HTTP;
    }

    /**
     * A new stream on this connection, its idle timer running; it gets its id when its first HEADERS are written.
     * Event loop only.
     */
    public H2Stream open() {
        H2Stream s = new H2Stream(this, newStream(), idleNanos, clock);
        s.start();
        return s;
    }

    // ---- for the streams ---------------------------------------------------------------------------------------

    ChannelHandlerContext ctx() {
        return ctx;
    }

    HttpScheme scheme() {
        return scheme;
    }

    Http2StreamFrame[] frames() {
        return frames;
    }

    void register(H2Stream s) {
        streams.put(s.id(), s);
    }

    void ended(H2Stream s) {
        if (s.id() > 0) {
            streams.remove(s.id());
        }
        onStreamEnd.run();
    }

    /** The codec's stream, or null when it has none (yet, or any more). */
    Http2Stream http2Stream(Http2FrameStream stream) {
        return StreamWindow.of(connection, stream);
    }

    /** Whether the stream's send window has room; true when nothing more can be sent on it (its local side closed). */
    boolean streamWritable(Http2FrameStream stream) {
        return StreamWindow.sendable(connection, stream);
    }

    /** Gives {@code bytes} of the stream's receive window back (a WINDOW_UPDATE once enough gathered). */
    void consume(Http2FrameStream stream, int bytes) {
        StreamWindow.giveBack(ctx, connection, stream, bytes);
    }

    // ---- what the connection reads -----------------------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2StreamFrame frame) {
            if (msg instanceof Http2WindowUpdateFrame) {
                return;
            }
            H2Stream s = frame.stream() == null ? null : streams.get(frame.stream().id());
            if (s == null) {
                ReferenceCountUtil.release(msg);
            } else if (s.read(frame)) {
                reading.add(s);
            }
        } else if (msg instanceof Http2GoAwayFrame goAway) {
            try {
                goAway(goAway.lastStreamId(), goAway.errorCode());
            } finally {
                goAway.release();
            }
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    private void goAway(int lastStreamId, long errorCode) {
        if (lastStreamId == Integer.MAX_VALUE) {
            return;
        }
        for (H2Stream s : snapshot()) {
            if (s.id() > lastStreamId) {
                s.goingAway(errorCode);
            }
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (!reading.isEmpty()) {
            for (int i = 0; i < reading.size(); i++) {
                reading.get(i).readComplete();
            }
            reading.clear();
            ctx.flush();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof Http2FrameStreamEvent event) {
            H2Stream s = streams.get(event.stream().id());
            if (s == null) {
                return;
            }
            if (event.type() == Http2FrameStreamEvent.Type.State) {
                if (event.stream().state() == Http2Stream.State.CLOSED) {
                    s.closed(null);
                }
            } else {
                s.writabilityChanged();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            for (H2Stream s : snapshot()) {
                s.writabilityChanged();
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        for (H2Stream s : snapshot()) {
            s.closed(null);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof Http2FrameStreamException e) {
            H2Stream s = streams.get(e.stream().id());
            if (s != null) {
                s.failed(e.getCause(), e.error().code());
            }
            return;
        }
        // A broken connection: its streams fail their exchanges; the next request opens a new connection.
        for (H2Stream s : snapshot()) {
            s.closed(cause);
        }
        ctx.close();
    }

    /** The open streams, copied: telling a stream may end it (and so change the map). */
    private List<H2Stream> snapshot() {
        return streams.isEmpty() ? List.of() : new ArrayList<>(streams.values());
    }

    /** How many streams with an id are open (for tests). */
    int openStreams() {
        return streams.size();
    }
}
