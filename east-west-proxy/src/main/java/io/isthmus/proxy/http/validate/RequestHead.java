package io.isthmus.proxy.http.validate;

import java.util.Map;
import java.util.Objects;

/**
 * The head of a request as the HTTP decoder read it, for {@link RequestValidator}. No Netty types: the headers are
 * any iterable of name/value pairs, in the order received, duplicates kept.
 *
 * @param method    the request method
 * @param target    the request target as received
 * @param version   {@code HTTP/1.1}; an HTTP/2 stream's request is read as {@code HTTP/1.1}
 * @param headers   every header field, in order
 * @param obsFolded whether the decoder saw a header line folded onto the next (it unfolds them, so the headers
 *                  alone no longer show it)
 * @param http2     whether the request came on an HTTP/2 stream: {@code :authority} is given as the first
 *                  {@code host} header, a missing {@code :method} or {@code :path} as an empty method or target
 * @param scheme    the HTTP/2 {@code :scheme}, empty when absent (and on HTTP/1)
 */
public record RequestHead(String method, String target, String version, Iterable<Map.Entry<String, String>> headers,
        boolean obsFolded, boolean http2, String scheme) {
    public RequestHead {
        Objects.requireNonNull(scheme, "scheme");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(headers, "headers");
    }

    /** An HTTP/1 request head. */
    public static RequestHead http1(String method, String target, String version,
            Iterable<Map.Entry<String, String>> headers, boolean obsFolded) {
        return new RequestHead(method, target, version, headers, obsFolded, false, "");
    }
}
