package io.isthmus.proxy.exchange;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

import io.isthmus.proxy.http.Http2RequestValidation;
import io.isthmus.proxy.http.Http2Support;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpMessage;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpScheme;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.HttpConversionUtil;
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
 * {@code LastHttpContent} (trailers), as Netty's {@code Http2StreamFrameToHttpObjectCodec} makes them, without the
 * {@code x-http2-*} extension headers the conversion adds: they describe this hop only;</li>
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
    private static final HttpConversionUtil.ExtensionHeaderNames[] EXTENSIONS =
            HttpConversionUtil.ExtensionHeaderNames.values();

    private final boolean server;
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
            StreamWindow.giveBack(ctx.channel(), data.initialFlowControlledBytes() - data.content().readableBytes());
        }
        if (refused) {
            ReferenceCountUtil.release(msg);
        } else if (data != null) {
            // A DATA frame carries no trailers: its end shares the empty trailer headers (no header map per stream).
            ctx.fireChannelRead(data.isEndStream()
                    ? new DefaultLastHttpContent(data.content(), EmptyHttpHeaders.INSTANCE)
                    : new DefaultHttpContent(data.content()));
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
            ctx.fireChannelRead(convert(frame));
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

    private HttpObject convert(Http2HeadersFrame frame) throws Exception {
        Http2Headers headers = frame.headers();
        Http2FrameStream stream = frame.stream();
        int id = stream == null ? 0 : stream.id();
        CharSequence status = headers.status();
        if (status != null && isInformational(status)) {
            return strip(newFullMessage(id, headers));
        }
        if (frame.isEndStream()) {
            if (headers.method() == null && status == null) {
                LastHttpContent last = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER, true);
                HttpConversionUtil.addHttp2ToHttpHeaders(id, headers, last.trailingHeaders(), HttpVersion.HTTP_1_1,
                        true, true);
                return last;
            }
            return strip(newFullMessage(id, headers));
        }
        HttpMessage message = server ? HttpConversionUtil.toHttpRequest(id, headers, true)
                : HttpConversionUtil.toHttpResponse(id, headers, true);
        if ((status == null || !isContentAlwaysEmpty(status)) && !HttpUtil.isContentLengthSet(message)) {
            message.headers().add(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        }
        return strip(message);
    }

    private FullHttpMessage newFullMessage(int id, Http2Headers headers) throws Exception {
        return server ? HttpConversionUtil.toFullHttpRequest(id, headers, Unpooled.EMPTY_BUFFER, true)
                : HttpConversionUtil.toFullHttpResponse(id, headers, Unpooled.EMPTY_BUFFER, true);
    }

    private static <M extends HttpMessage> M strip(M message) {
        HttpHeaders h = message.headers();
        for (HttpConversionUtil.ExtensionHeaderNames n : EXTENSIONS) {
            h.remove(n.text());
        }
        return message;
    }

    /** A 1xx other than 101: a response of its own, followed by the real one. */
    private static boolean isInformational(CharSequence status) {
        return status.length() == 3 && status.charAt(0) == '1' && isDigit(status.charAt(1))
                && isDigit(status.charAt(2)) && !(status.charAt(1) == '0' && status.charAt(2) == '1');
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** 204 and 304 have no body (and so no chunked framing to declare). */
    private static boolean isContentAlwaysEmpty(CharSequence status) {
        return status.length() == 3 && (status.charAt(0) == '2' || status.charAt(0) == '3')
                && status.charAt(1) == '0' && status.charAt(2) == '4';
    }

    // ---- outbound: HTTP objects to frames ----------------------------------------------------------------------

    /**
     * A message head becomes HEADERS (ending the stream when nothing follows); content becomes DATA; a message's end
     * becomes DATA (when it has content, or nothing else would end the stream) and the trailers' HEADERS. A 1xx other
     * than 101 is HEADERS alone. Other messages (window updates, resets) pass as they are.
     */
    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        noteActivity();
        if (!(msg instanceof HttpObject)) {
            ctx.write(msg, promise);
            return;
        }
        Object head = null;
        Object data = null;
        Object trailers = null;
        try {
            if (msg instanceof HttpResponse res && res.status().codeClass() == HttpStatusClass.INFORMATIONAL
                    && res.status().code() != 101) {
                if (!(res instanceof FullHttpResponse)) {
                    throw new EncoderException(res.status() + " must be a FullHttpResponse");
                }
                head = new DefaultHttp2HeadersFrame(toHttp2Headers(res), false);
            } else {
                if (msg instanceof HttpMessage message) {
                    boolean ends = message instanceof FullHttpMessage full && !full.content().isReadable()
                            && full.trailingHeaders().isEmpty();
                    head = new DefaultHttp2HeadersFrame(toHttp2Headers(message), ends);
                }
                if (msg instanceof LastHttpContent last) {
                    boolean noTrailers = last.trailingHeaders().isEmpty();
                    boolean needFiller = !(last instanceof FullHttpMessage) && noTrailers;
                    // The trailers first: a conversion that throws must not leave a DATA frame holding the content.
                    if (!noTrailers) {
                        trailers = new DefaultHttp2HeadersFrame(
                                HttpConversionUtil.toHttp2Headers(last.trailingHeaders(), true), true);
                    }
                    if (last.content().isReadable() || needFiller) {
                        data = new DefaultHttp2DataFrame(last.content().retain(), noTrailers);
                    }
                } else if (msg instanceof HttpContent content) {
                    data = new DefaultHttp2DataFrame(content.content().retain(), false);
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
        int frames = (head != null ? 1 : 0) + (data != null ? 1 : 0) + (trailers != null ? 1 : 0);
        if (frames == 0) {
            promise.setSuccess();
        } else if (frames == 1) {
            ctx.write(head != null ? head : data != null ? data : trailers, promise);
        } else {
            PromiseCombiner all = new PromiseCombiner(ctx.executor());
            if (head != null) {
                all.add(ctx.write(head));
            }
            if (data != null) {
                all.add(ctx.write(data));
            }
            if (trailers != null) {
                all.add(ctx.write(trailers));
            }
            all.finish(promise);
        }
    }

    private Http2Headers toHttp2Headers(HttpMessage message) {
        if (message instanceof HttpRequest) {
            message.headers().set(HttpConversionUtil.ExtensionHeaderNames.SCHEME.text(), scheme.name());
        }
        return HttpConversionUtil.toHttp2Headers(message, true);
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
