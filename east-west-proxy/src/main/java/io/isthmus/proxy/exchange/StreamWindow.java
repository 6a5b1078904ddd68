package io.isthmus.proxy.exchange;

import io.netty.channel.Channel;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2StreamChannelOption;

/**
 * Back-pressure on an HTTP/2 stream is HTTP/2 flow control: the window for a DATA frame goes back to its sender
 * (WINDOW_UPDATE) only once the frame's bytes were written to the other side of the exchange. A sender can so have
 * at most one stream window (64 KiB) in the gateway, however slow the receiver. Netty's own stream flow control is
 * switched off for this: it gives the window back when a frame is read, and with reading paused it sends the update
 * only at the next read request, which a sender that is exactly out of window never causes (the stream stalled).
 * A DATA frame's padding goes back at once ({@link StreamCodec}). Event loop only.
 */
public final class StreamWindow {
    private StreamWindow() {
    }

    /** Called while setting up a stream, before anything is read: its window is given back by the exchange. */
    static void manual(Channel stream) {
        stream.config().setOption(Http2StreamChannelOption.AUTO_STREAM_FLOW_CONTROL, false);
    }

    /** Gives {@code bytes} of window back to the sender on {@code stream}. */
    static void giveBack(Channel stream, int bytes) {
        if (bytes > 0 && stream.isActive()) {
            stream.write(new DefaultHttp2WindowUpdateFrame(bytes));
            stream.flush();
        }
    }
}
