package io.isthmus.proxy.http;

import java.nio.charset.StandardCharsets;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;

/** gRPC on the wire: recognising a call (gRPC runs over HTTP/2 only, so its hops must be HTTP/2), status messages. */
public final class Grpc {
    private Grpc() {
    }

    /** A gRPC call: {@code content-type: application/grpc} or {@code application/grpc+<codec>}. */
    public static boolean isGrpc(HttpRequest request) {
        return isGrpc(request.headers().get(HttpHeaderNames.CONTENT_TYPE));
    }

    /** Whether {@code contentType} (may be null) is {@code application/grpc} or {@code application/grpc+<codec>}. */
    public static boolean isGrpc(CharSequence contentType) {
        return contentType != null && contentType.length() >= 16
                && contentType.toString().regionMatches(true, 0, "application/grpc", 0, 16);
    }

    /** {@code grpc-message} is percent-encoded UTF-8 ("gRPC over HTTP/2"). */
    public static String percentEncode(String message) {
        StringBuilder out = new StringBuilder(message.length());
        for (byte b : message.getBytes(StandardCharsets.UTF_8)) {
            if (b >= 0x20 && b < 0x7f && b != '%') {
                out.append((char) b);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)))
                        .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
            }
        }
        return out.toString();
    }
}
