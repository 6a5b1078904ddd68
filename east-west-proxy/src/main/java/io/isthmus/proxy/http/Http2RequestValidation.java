package io.isthmus.proxy.http;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.isthmus.proxy.http.validate.InvalidRequestException;
import io.isthmus.proxy.http.validate.RequestHead;
import io.isthmus.proxy.http.validate.RequestValidator;
import io.isthmus.proxy.http.validate.RequestVerdict;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2Headers;

/**
 * The check of a server-side HTTP/2 stream's request HEADERS, asked of {@link RequestValidator} before anything
 * converts them (Netty's conversion reads a HEADERS frame without {@code :method} as trailers and leaves the stream
 * hanging, and throws on control characters instead of naming them). A refused stream gets a stand-in request with a
 * failed decoder result, which the request handler answers with the refusal's status and code; the stream's codec
 * ({@code io.isthmus.proxy.exchange.H2ServerStream}) drops the rest of the stream. Netty's codec has already reset streams
 * whose pseudo-headers are unknown, repeated or misplaced, or that carry upper-case or connection-specific headers
 * (PROTOCOL_ERROR). Pure.
 */
public final class Http2RequestValidation {
    private Http2RequestValidation() {
    }

    /** The stand-in request that names why {@code headers} are refused, or null when they pass. */
    public static HttpRequest refusal(Http2Headers headers) {
        RequestVerdict verdict = RequestValidator.check(head(headers));
        if (verdict instanceof RequestVerdict.Invalid invalid) {
            FullHttpRequest standIn = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/",
                    Unpooled.EMPTY_BUFFER);
            standIn.setDecoderResult(DecoderResult.failure(new InvalidRequestException(invalid)));
            return standIn;
        }
        return null;
    }

    private static RequestHead head(Http2Headers h) {
        List<Map.Entry<String, String>> headers = new ArrayList<>(h.size());
        if (h.authority() != null) {
            headers.add(Map.entry("host", h.authority().toString()));
        }
        h.forEach(e -> {
            if (!Http2Headers.PseudoHeaderName.hasPseudoHeaderFormat(e.getKey())) {
                headers.add(Map.entry(e.getKey().toString(), e.getValue().toString()));
            }
        });
        return new RequestHead(text(h.method()), text(h.path()), "HTTP/2.0", headers, false, true, text(h.scheme()));
    }

    private static String text(CharSequence s) {
        return s == null ? "" : s.toString();
    }
}
