package io.isthmus.proxy.ingress;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;

/** gRPC recognition: gRPC runs over HTTP/2 only, so its hops to peers and backends must be HTTP/2. */
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
}
