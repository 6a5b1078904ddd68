package io.isthmus.proxy.exchange;

import org.jboss.logging.Logger;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Stream;

/**
 * Back-pressure on an HTTP/2 stream is HTTP/2 flow control, both on the streams callers open ({@link H2ServerStream})
 * and on those the gateway opens upstream ({@link H2Stream}): the window for a DATA frame goes back to its sender
 * (WINDOW_UPDATE) only once the frame's bytes were written to the other side of the exchange. A sender can so have
 * at most one stream window (64 KiB) in the gateway, however slow the receiver. The codec gives nothing back by itself
 * (no stream is consumed until {@link #giveBack} says so); a DATA frame's padding goes back at once. Event loop only.
 */
final class StreamWindow {
    private static final Logger LOG = Logger.getLogger(StreamWindow.class);

    private StreamWindow() {
    }

    /** The codec's stream, or null when it has none (yet, or any more). */
    static Http2Stream of(Http2Connection connection, Http2FrameStream stream) {
        int id = stream.id();
        return id > 0 ? connection.stream(id) : null;
    }

    /**
     * Gives {@code bytes} of {@code stream}'s receive window back to its sender (the codec writes a WINDOW_UPDATE, and
     * it is flushed, once enough gathered). Nothing for a stream that is gone: a closed stream's window went back to
     * the connection when it closed.
     */
    static void giveBack(ChannelHandlerContext ctx, Http2Connection connection, Http2FrameStream stream, int bytes) {
        Http2Stream s = bytes > 0 ? of(connection, stream) : null;
        if (s == null) {
            return;
        }
        try {
            if (connection.local().flowController().consumeBytes(s, bytes)) {
                ctx.flush();
            }
        } catch (Http2Exception e) {
            LOG.debugf("cannot give back %d bytes of window on stream %d of %s: %s", bytes, s.id(), ctx.channel(), e);
        }
    }

    /**
     * Whether {@code stream}'s send window has room; true when nothing more can be sent on it (its local side closed:
     * Netty's flow controller calls such a stream not writable, and the other side of the exchange would be held back
     * for nothing).
     */
    static boolean sendable(Http2Connection connection, Http2FrameStream stream) {
        Http2Stream s = of(connection, stream);
        if (s == null) {
            return true;
        }
        Http2Stream.State state = s.state();
        return state == Http2Stream.State.HALF_CLOSED_LOCAL || state == Http2Stream.State.CLOSED
                || connection.remote().flowController().isWritable(s);
    }
}
