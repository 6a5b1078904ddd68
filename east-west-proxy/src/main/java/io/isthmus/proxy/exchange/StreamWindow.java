package io.isthmus.proxy.exchange;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2StreamChannelOption;

/**
 * Back-pressure on an HTTP/2 stream is HTTP/2 flow control: the window for a DATA frame goes back to its sender
 * (WINDOW_UPDATE) only once the frame's bytes were written to the other side of the exchange. A sender can so have
 * at most one stream window (64 KiB) in the gateway, however slow the receiver. Netty's own stream flow control is
 * switched off for this: it gives the window back when a frame is read, and with reading paused it sends the update
 * only at the next read request, which a sender that is exactly out of window never causes (the stream stalled).
 * Event loop only.
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

    /**
     * In front of the frame converter: a DATA frame's padding counts against the window but never reaches the
     * exchange, so its share goes back at once; the exchange gives back the data bytes once they moved on.
     */
    @ChannelHandler.Sharable
    static final class Padding extends ChannelInboundHandlerAdapter {
        static final Padding INSTANCE = new Padding();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2DataFrame data) {
                giveBack(ctx.channel(), data.initialFlowControlledBytes() - data.content().readableBytes());
            }
            ctx.fireChannelRead(msg);
        }
    }

    /**
     * Prepares a stream channel for an exchange, before anything is read: manual flow control; returns the handler
     * that gives the padding back, to be added in front of the frame converter.
     */
    public static ChannelHandler setUp(Channel stream) {
        manual(stream);
        return Padding.INSTANCE;
    }
}
