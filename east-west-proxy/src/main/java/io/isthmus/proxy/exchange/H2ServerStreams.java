package io.isthmus.proxy.exchange;

import java.util.ArrayList;
import java.util.List;

import org.jboss.logging.Logger;

import io.isthmus.proxy.http.Http2ConnectionErrors;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2ChannelDuplexHandler;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2FrameStreamEvent;
import io.netty.handler.codec.http2.Http2FrameStreamException;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.handler.codec.http2.Http2WindowUpdateFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.collection.IntObjectMap;

/**
 * The handler right behind the {@code Http2FrameCodec} of a listener connection that speaks HTTP/2: the streams its
 * caller opens are {@link H2ServerStream}s (no child channel, pipeline or per-stream promise), each the
 * {@link Downstream} of one exchange that the connection's request handler makes ({@link DownstreamHandler#newExchange},
 * the handler that admitted the connection and knows its peer). For the connection as a whole:
 * <ul>
 * <li>the first HEADERS of a stream with an id above any seen creates its stream object; every later frame goes to
 * its stream by id (frames of a stream already ended are dropped);</li>
 * <li>the end of a read: each stream that read something starts its exchange, or flushes what it relayed;</li>
 * <li>writability: every stream is told when the connection's changes, a stream when its send window's does;</li>
 * <li>a stream the codec closed, and every stream still open when the connection closes or breaks, is told once
 * ({@link H2ServerStream#closed});</li>
 * <li>a stream error from the codec (a malformed frame on one stream): that stream alone is reset and counted.</li>
 * </ul>
 * Connection-level frames (SETTINGS, PING, GOAWAY, WINDOW_UPDATE on stream 0) end here: a caller's GOAWAY covers the
 * streams a server opened, and a listener opens none. Connection errors go on to {@link Http2ConnectionErrors}.
 * Flood limits (resets, CONTINUATION, control frames, concurrent streams) are the codec's. Event loop only; one per
 * connection.
 */
public final class H2ServerStreams extends Http2ChannelDuplexHandler {
    private static final Logger LOG = Logger.getLogger(H2ServerStreams.class);

    private final DownstreamHandler listener;
    private final IntObjectMap<H2ServerStream> streams = new IntObjectHashMap<>();
    /** The streams that read a frame in the current read of the connection. */
    private final List<H2ServerStream> reading = new ArrayList<>(4);
    /** The frames of one write: {@link FrameConversion#toFrames} makes at most three. */
    private final Http2StreamFrame[] frames = new Http2StreamFrame[3];
    private ChannelHandlerContext ctx;
    private Http2Connection connection;
    private int lastStreamId;

    /**
     * @param listener the connection's request handler (taken out of the pipeline when the connection switched to
     *                 HTTP/2): it makes every stream's exchange, and names the listener in metrics and logs
     */
    public H2ServerStreams(DownstreamHandler listener) {
        this.listener = listener;
    }

    @Override
    protected void handlerAdded0(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.connection = ctx.pipeline().get(Http2FrameCodec.class).connection();
    }

    // ---- for the streams ---------------------------------------------------------------------------------------

    ChannelHandlerContext ctx() {
        return ctx;
    }

    DownstreamHandler listener() {
        return listener;
    }

    Http2StreamFrame[] frames() {
        return frames;
    }

    Http2Stream http2Stream(Http2FrameStream stream) {
        return StreamWindow.of(connection, stream);
    }

    boolean sendable(Http2FrameStream stream) {
        return StreamWindow.sendable(connection, stream);
    }

    void giveBack(Http2FrameStream stream, int bytes) {
        StreamWindow.giveBack(ctx, connection, stream, bytes);
    }

    void ended(H2ServerStream s) {
        streams.remove(s.id());
    }

    /** A stream reset for a stream error: counted as a refusal, logged at DEBUG with the caller's address. */
    void streamRefused(H2ServerStream s, Http2Error error, Throwable cause) {
        String reason = Http2ConnectionErrors.reason(error.code());
        listener.metrics.requestRefused(listener.direction, reason == null ? "http2-no-error" : reason);
        LOG.debugf("%s: resetting stream %d from %s: %s", listener.direction, s.id(), ctx.channel().remoteAddress(),
                cause == null ? error : cause.getMessage());
    }

    // ---- what the connection reads -----------------------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Http2StreamFrame frame) || frame.stream() == null) {
            // SETTINGS, PING, GOAWAY: the codec answered what needs an answer.
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof Http2WindowUpdateFrame) {
            return;
        }
        int id = frame.stream().id();
        H2ServerStream s = streams.get(id);
        if (s == null) {
            if (!(msg instanceof Http2HeadersFrame) || id <= lastStreamId) {
                ReferenceCountUtil.release(msg);
                return;
            }
            lastStreamId = id;
            s = new H2ServerStream(this, frame.stream());
            streams.put(id, s);
        }
        if (s.read(frame)) {
            reading.add(s);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (!reading.isEmpty()) {
            for (int i = 0; i < reading.size(); i++) {
                reading.get(i).readComplete();
            }
            reading.clear();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof Http2FrameStreamEvent event) {
            H2ServerStream s = streams.get(event.stream().id());
            if (s != null) {
                if (event.type() == Http2FrameStreamEvent.Type.State) {
                    if (event.stream().state() == Http2Stream.State.CLOSED) {
                        s.closed();
                    }
                } else {
                    s.writabilityChanged();
                }
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        for (H2ServerStream s : snapshot()) {
            s.writabilityChanged();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        for (H2ServerStream s : snapshot()) {
            s.closed();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof Http2FrameStreamException e) {
            H2ServerStream s = streams.get(e.stream().id());
            if (s != null) {
                s.streamError(e.error(), e.getCause());
            } else if (StreamWindow.of(connection, e.stream()) instanceof Http2Stream open
                    && open.state() != Http2Stream.State.CLOSED && !open.isResetSent()) {
                // A stream whose exchange has ended (or never began): reset it all the same.
                ctx.writeAndFlush(new DefaultHttp2ResetFrame(e.error()).stream(e.stream()));
            }
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    /** The open streams, copied: telling a stream may end it (and so change the map). */
    private List<H2ServerStream> snapshot() {
        return streams.isEmpty() ? List.of() : new ArrayList<>(streams.values());
    }

    /** How many of the connection's streams are open (an exchange, or a last write, still running). Event loop only. */
    public int openStreams() {
        return streams.size();
    }
}
