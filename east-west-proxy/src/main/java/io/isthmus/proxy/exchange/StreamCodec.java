package io.isthmus.proxy.exchange;

import java.util.Arrays;

import io.isthmus.proxy.http.Http2RequestValidation;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.PromiseCombiner;

/**
 * The one handler in front of an exchange on an HTTP/2 stream a caller opened (a child channel of the listener's
 * connection): it turns frames into HTTP/1-style objects and back ({@link FrameConversion}), so that {@link Exchange}
 * relays one kind of message whatever the protocol. In order, for what it reads:
 * <ol>
 * <li>a DATA frame's padding goes back to the sender at once ({@link StreamWindow}: flow control is manual, and the
 * exchange gives back the data bytes once they moved on);</li>
 * <li>the request HEADERS are checked by {@link Http2RequestValidation#refusal} before anything converts them; a
 * refused stream yields the stand-in request that names the refusal, and the rest of it is dropped;</li>
 * <li>HEADERS and DATA become an {@code HttpRequest}, {@code HttpContent} and {@code LastHttpContent} (trailers),
 * without the {@code x-http2-*} extension headers.</li>
 * </ol>
 * What it writes goes the other way. One handler does what four did (padding, validation, converter, extension
 * stripping): every stream creates its pipeline anew, and each handler in it cost an add, a remove and a hop per
 * message. Streams the gateway opens upstream have no channel of their own ({@link H2Stream}).
 *
 * <p>Event loop only; one per stream.
 */
public final class StreamCodec extends ChannelDuplexHandler {
    private boolean checked;
    private boolean refused;
    /** The frames of one write; a write converts at most three. */
    private final Http2StreamFrame[] frames = new Http2StreamFrame[3];

    private StreamCodec() {
    }

    /** For a stream a caller opened: validates and converts its request, converts the response. */
    public static StreamCodec server() {
        return new StreamCodec();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        StreamWindow.manual(ctx.channel());
    }

    // ---- inbound: frames to HTTP objects -----------------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        Http2DataFrame data = msg instanceof Http2DataFrame d ? d : null;
        if (data != null) {
            StreamWindow.giveBack(ctx.channel(), FrameConversion.padding(data));
        }
        if (refused) {
            ReferenceCountUtil.release(msg);
        } else if (data != null) {
            ctx.fireChannelRead(FrameConversion.fromData(data));
        } else if (msg instanceof Http2HeadersFrame frame) {
            if (!checked) {
                checked = true;
                HttpRequest standIn = Http2RequestValidation.refusal(frame.headers());
                if (standIn != null) {
                    refused = true;
                    ctx.fireChannelRead(standIn);
                    return;
                }
            }
            ctx.fireChannelRead(FrameConversion.fromHeaders(frame, true));
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    // ---- outbound: HTTP objects to frames ----------------------------------------------------------------------

    /** An HTTP object becomes its frames ({@link FrameConversion#toFrames}); other messages pass as they are. */
    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (!(msg instanceof HttpObject o)) {
            ctx.write(msg, promise);
            return;
        }
        int n = FrameConversion.toFrames(o, null, frames);
        if (n == 0) {
            promise.setSuccess();
        } else if (n == 1) {
            ctx.write(frames[0], promise);
        } else {
            PromiseCombiner all = new PromiseCombiner(ctx.executor());
            for (int i = 0; i < n; i++) {
                all.add(ctx.write(frames[i]));
            }
            all.finish(promise);
        }
        Arrays.fill(frames, null);
    }
}
