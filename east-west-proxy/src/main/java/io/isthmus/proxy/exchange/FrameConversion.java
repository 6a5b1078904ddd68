package io.isthmus.proxy.exchange;

import io.netty.buffer.Unpooled;
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
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.ReferenceCountUtil;

/**
 * HTTP/2 frames to HTTP/1-style objects and back, as Netty's {@code Http2StreamFrameToHttpObjectCodec} makes them but
 * without the {@code x-http2-*} extension headers the conversion adds (they describe this hop only, and must never
 * reach the next one). Used by both ends of an exchange: {@link H2ServerStream} on a stream a caller opened and
 * {@link H2Stream} on a stream the gateway opened upstream (both frames on their connection's own handler).
 * Pure functions; the caller owns what it passes and what it gets.
 */
final class FrameConversion {
    private static final HttpConversionUtil.ExtensionHeaderNames[] EXTENSIONS =
            HttpConversionUtil.ExtensionHeaderNames.values();

    private FrameConversion() {
    }

    /** The window a DATA frame took beyond its data (its padding): given back at once, the data only once relayed. */
    static int padding(Http2DataFrame data) {
        return data.initialFlowControlledBytes() - data.content().readableBytes();
    }

    /**
     * A DATA frame's content as an {@code HttpContent}, or a {@code LastHttpContent} when it ends the stream. A DATA
     * frame carries no trailers: its end shares the empty trailer headers (no header map per stream). Takes over the
     * frame's reference.
     */
    static HttpContent fromData(Http2DataFrame data) {
        return data.isEndStream() ? new DefaultLastHttpContent(data.content(), EmptyHttpHeaders.INSTANCE)
                : new DefaultHttpContent(data.content());
    }

    /**
     * A HEADERS frame as a request ({@code server}) or a response head, a whole message when it ends the stream or
     * is an interim 1xx other than 101, or as the trailers ({@code LastHttpContent}) when it ends the stream without
     * being a head.
     */
    static HttpObject fromHeaders(Http2HeadersFrame frame, boolean server) throws Http2Exception {
        Http2Headers headers = frame.headers();
        Http2FrameStream stream = frame.stream();
        int id = stream == null ? 0 : stream.id();
        CharSequence status = headers.status();
        if (status != null && isInformational(status)) {
            return strip(newFullMessage(id, headers, server));
        }
        if (frame.isEndStream()) {
            if (headers.method() == null && status == null) {
                LastHttpContent last = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER, true);
                HttpConversionUtil.addHttp2ToHttpHeaders(id, headers, last.trailingHeaders(), HttpVersion.HTTP_1_1,
                        true, true);
                return last;
            }
            return strip(newFullMessage(id, headers, server));
        }
        HttpMessage message = server ? HttpConversionUtil.toHttpRequest(id, headers, true)
                : HttpConversionUtil.toHttpResponse(id, headers, true);
        if ((status == null || !isContentAlwaysEmpty(status)) && !HttpUtil.isContentLengthSet(message)) {
            message.headers().add(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        }
        return strip(message);
    }

    private static FullHttpMessage newFullMessage(int id, Http2Headers headers, boolean server) throws Http2Exception {
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

    /**
     * The frames for {@code msg}, in order, into {@code out} (room for three); returns how many. A message head
     * becomes HEADERS (ending the stream when nothing follows); content becomes DATA; a message's end becomes DATA
     * (when it has content, or nothing else would end the stream) and the trailers' HEADERS. A 1xx other than 101 is
     * HEADERS alone. {@code msg} is released; the frames hold what they need. A request's HEADERS get
     * {@code :scheme} from {@code scheme} (a response needs none: pass null).
     *
     * @throws EncoderException a 1xx other than 101 that is not a whole message (nothing is put in {@code out})
     */
    static int toFrames(HttpObject msg, HttpScheme scheme, Http2StreamFrame[] out) {
        Http2StreamFrame head = null;
        Http2StreamFrame data = null;
        Http2StreamFrame trailers = null;
        try {
            if (msg instanceof HttpResponse res && res.status().codeClass() == HttpStatusClass.INFORMATIONAL
                    && res.status().code() != 101) {
                if (!(res instanceof FullHttpResponse)) {
                    throw new EncoderException(res.status() + " must be a FullHttpResponse");
                }
                head = new DefaultHttp2HeadersFrame(toHttp2Headers(res, scheme), false);
            } else {
                if (msg instanceof HttpMessage message) {
                    boolean ends = message instanceof FullHttpMessage full && !full.content().isReadable()
                            && full.trailingHeaders().isEmpty();
                    head = new DefaultHttp2HeadersFrame(toHttp2Headers(message, scheme), ends);
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
        int n = 0;
        if (head != null) {
            out[n++] = head;
        }
        if (data != null) {
            out[n++] = data;
        }
        if (trailers != null) {
            out[n++] = trailers;
        }
        return n;
    }

    private static Http2Headers toHttp2Headers(HttpMessage message, HttpScheme scheme) {
        if (message instanceof HttpRequest && scheme != null) {
            message.headers().set(HttpConversionUtil.ExtensionHeaderNames.SCHEME.text(), scheme.name());
        }
        return HttpConversionUtil.toHttp2Headers(message, true);
    }
}
