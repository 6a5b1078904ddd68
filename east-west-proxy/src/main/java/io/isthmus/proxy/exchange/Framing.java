package io.isthmus.proxy.exchange;

import io.isthmus.proxy.http.HopByHop;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;

/**
 * How a message's body is framed on the next hop, once the hop-by-hop headers of the previous one are gone
 * ({@code Transfer-Encoding} among them). HTTP/2 frames bodies itself; HTTP/1.1 needs a {@code Content-Length} or
 * chunked encoding, and chunked encoding is also the only way trailers cross an HTTP/1.1 hop. A body whose length the
 * sender declared keeps that length end to end. Pure functions on the headers; event loop only (messages are not
 * thread-safe).
 */
final class Framing {
    private Framing() {
    }

    /** A request head about to go upstream: chunked on HTTP/1.1 when a body of unknown length follows. */
    static void request(HttpRequest head, boolean http2Upstream, boolean body) {
        if (!http2Upstream && body && !head.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
            HttpUtil.setTransferEncodingChunked(head, true);
        }
    }

    /**
     * A final response head about to go to the caller.
     *
     * @param headRequest whether it answers a HEAD (its body is empty whatever its headers say)
     * @param keepAlive   whether the caller's HTTP/1.1 connection stays open after it
     * @param chunkable   whether the caller speaks HTTP/1.1 (an HTTP/1.0 caller gets a close-delimited body)
     */
    static void response(HttpResponse response, boolean http2Downstream, boolean headRequest, boolean keepAlive,
            boolean chunkable) {
        HttpHeaders h = response.headers();
        int code = response.status().code();
        if (code == 101) {
            String protocol = h.get(HttpHeaderNames.UPGRADE);
            HopByHop.strip(h);
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
            if (protocol != null) {
                h.set(HttpHeaderNames.UPGRADE, protocol);
            }
            return;
        }
        HopByHop.strip(h);
        if (http2Downstream) {
            return;
        }
        boolean bodyless = headRequest || code < 200 || code == 204 || code == 304;
        boolean keep = keepAlive && (chunkable || bodyless || h.contains(HttpHeaderNames.CONTENT_LENGTH)
                || response instanceof FullHttpResponse);
        if (code >= 200) {
            h.set(HttpHeaderNames.CONNECTION, keep ? HttpHeaderValues.KEEP_ALIVE : HttpHeaderValues.CLOSE);
        }
        if (bodyless) {
            return;
        }
        if (response instanceof FullHttpResponse full) {
            if (!full.trailingHeaders().isEmpty() && chunkable) {
                h.remove(HttpHeaderNames.CONTENT_LENGTH);
                HttpUtil.setTransferEncodingChunked(response, true);
            } else if (!h.contains(HttpHeaderNames.CONTENT_LENGTH)) {
                HttpUtil.setContentLength(response, full.content().readableBytes());
            }
        } else if (!h.contains(HttpHeaderNames.CONTENT_LENGTH) && chunkable) {
            HttpUtil.setTransferEncodingChunked(response, true);
        }
    }

    /** Whether a response of {@code response}'s framing lets the caller's connection stay open after it. */
    static boolean keepsConnection(HttpResponse response) {
        String connection = response.headers().get(HttpHeaderNames.CONNECTION);
        return connection == null || !connection.equalsIgnoreCase(HttpHeaderValues.CLOSE.toString());
    }
}
