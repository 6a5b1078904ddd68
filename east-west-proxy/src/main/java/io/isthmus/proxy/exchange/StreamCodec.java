package io.isthmus.proxy.exchange;

import java.util.Arrays;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

import io.isthmus.proxy.http.Http2RequestValidation;
import io.isthmus.proxy.http.Http2Support;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpScheme;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.PromiseCombiner;

/**
 * The one handler in front of an exchange on an HTTP/2 stream (a stream a caller opened, or one the gateway opened
 * upstream): it turns frames into HTTP/1-style objects and back, so that {@link Exchange} relays one kind of message
 * whatever the protocol. In order, for what it reads:
 * <ol>
 * <li>a DATA frame's padding goes back to the sender at once ({@link StreamWindow}: flow control is manual, and the
 * exchange gives back the data bytes once they moved on);</li>
 * <li>on a stream a caller opened, its request HEADERS are checked by {@link Http2RequestValidation#refusal} before
 * anything converts them; a refused stream yields the stand-in request that names the refusal, and the rest of
 * it is dropped;</li>
 * <li>HEADERS and DATA become an {@code HttpRequest}/{@code HttpResponse}, {@code HttpContent} and
 * {@code LastHttpContent} (trailers), without the {@code x-http2-*} extension headers ({@link FrameConversion});</li>
 * <li>on a stream the gateway opened, an {@link IdleStateEvent} when no frame moved either way for the request
 * timeout.</li>
 * </ol>
 * What it writes goes the other way. One handler does what five did (padding, validation, converter, extension
 * stripping, idle timer): every stream of every request creates its pipeline anew, and each handler in it cost an
 * add, a remove and a hop per message.
 *
 * <p>Event loop only; one per stream.
 */
public final class StreamCodec extends ChannelDuplexHandler {
    private static final AttributeKey<HttpScheme> SCHEME = AttributeKey.valueOf("isthmus.h2.scheme");
    private static final int IDLE_TIMER_RUNNING = 1;
    private static final int IDLE_TIMER_STOPPED = 2;

    private final boolean server;
    /** The frames of one write; a write converts at most three. */
    private final Http2StreamFrame[] frames = new Http2StreamFrame[3];
    private final long idleNanos;
    private final LongSupplier clock;
    private HttpScheme scheme;
    private boolean checked;
    private boolean refused;
    // The idle timer (streams the gateway opened): what IdleStateHandler(0, 0, timeout) did, without a listener on
    // every write.
    private ChannelHandlerContext ctx;
    private ScheduledFuture<?> idleCheck;
    private int idleState;
    private long lastActivity;
    private boolean reading;
    private boolean firstIdle = true;

    private StreamCodec(boolean server, long idleNanos, LongSupplier clock) {
        this.server = server;
        this.idleNanos = idleNanos;
        this.clock = clock;
    }

    /** For a stream a caller opened: validates and converts its request, converts the response. */
    public static StreamCodec server() {
        return new StreamCodec(true, 0, System::nanoTime);
    }

    /** For a stream the gateway opens upstream; {@code idleNanos} is the request timeout (no frame either way). */
    public static StreamCodec client(long idleNanos) {
        return client(idleNanos, System::nanoTime);
    }

    /** With {@code clock} for the idle timer (a test pairs it with its channel's frozen scheduler). */
    static StreamCodec client(long idleNanos, LongSupplier clock) {
        return new StreamCodec(false, idleNanos, clock);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        StreamWindow.manual(ctx.channel());
        if (!server) {
            // Only requests carry :scheme. Known once per connection.
            Channel connection = Http2Support.connection(ctx.channel());
            HttpScheme known = connection.attr(SCHEME).get();
            if (known == null) {
                known = connection.pipeline().get(SslHandler.class) != null ? HttpScheme.HTTPS : HttpScheme.HTTP;
                connection.attr(SCHEME).set(known);
            }
            scheme = known;
        }
        if (idleNanos > 0 && idleState == 0 && ctx.channel().isRegistered()) {
            startIdleTimer();
        }
    }

    @Override
    public void channelRegistered(ChannelHandlerContext ctx) throws Exception {
        if (idleNanos > 0 && idleState == 0) {
            startIdleTimer();
        }
        super.channelRegistered(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        stopIdleTimer();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        stopIdleTimer();
        super.channelInactive(ctx);
    }

    // ---- inbound: frames to HTTP objects -----------------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        reading = true;
        Http2DataFrame data = msg instanceof Http2DataFrame d ? d : null;
        if (data != null) {
            StreamWindow.giveBack(ctx.channel(), FrameConversion.padding(data));
        }
        if (refused) {
            ReferenceCountUtil.release(msg);
        } else if (data != null) {
            ctx.fireChannelRead(FrameConversion.fromData(data));
        } else if (msg instanceof Http2HeadersFrame frame) {
            if (server && !checked) {
                checked = true;
                HttpRequest standIn = Http2RequestValidation.refusal(frame.headers());
                if (standIn != null) {
                    refused = true;
                    ctx.fireChannelRead(standIn);
                    return;
                }
            }
            ctx.fireChannelRead(FrameConversion.fromHeaders(frame, server));
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (reading) {
            noteActivity();
            reading = false;
        }
        ctx.fireChannelReadComplete();
    }

    // ---- outbound: HTTP objects to frames ----------------------------------------------------------------------

    /** An HTTP object becomes its frames ({@link FrameConversion#toFrames}); other messages pass as they are. */
    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        noteActivity();
        if (!(msg instanceof HttpObject o)) {
            ctx.write(msg, promise);
            return;
        }
        int n = FrameConversion.toFrames(o, server ? null : scheme, frames);
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

    // ---- the idle timer ------------------------------------------------------------------------------------------

    /** Only streams with an idle timer read the clock (a caller's stream has none). */
    private void noteActivity() {
        if (idleNanos > 0) {
            lastActivity = clock.getAsLong();
        }
    }

    private void startIdleTimer() {
        idleState = IDLE_TIMER_RUNNING;
        lastActivity = clock.getAsLong();
        idleCheck = ctx.executor().schedule(this::checkIdle, idleNanos, TimeUnit.NANOSECONDS);
    }

    private void stopIdleTimer() {
        idleState = IDLE_TIMER_STOPPED;
        if (idleCheck != null) {
            idleCheck.cancel(false);
            idleCheck = null;
        }
    }

    private void checkIdle() {
        if (idleState != IDLE_TIMER_RUNNING || !ctx.channel().isOpen()) {
            return;
        }
        long left = idleNanos - (clock.getAsLong() - lastActivity);
        if (reading || left > 0) {
            idleCheck = ctx.executor().schedule(this::checkIdle, reading ? idleNanos : left, TimeUnit.NANOSECONDS);
            return;
        }
        idleCheck = ctx.executor().schedule(this::checkIdle, idleNanos, TimeUnit.NANOSECONDS);
        IdleStateEvent event = firstIdle ? IdleStateEvent.FIRST_ALL_IDLE_STATE_EVENT
                : IdleStateEvent.ALL_IDLE_STATE_EVENT;
        firstIdle = false;
        ctx.fireUserEventTriggered(event);
    }
}
