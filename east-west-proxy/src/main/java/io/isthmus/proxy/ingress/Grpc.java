package io.isthmus.proxy.ingress;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;

/** gRPC recognition: gRPC runs over HTTP/2 only, so its hops to peers and backends must be HTTP/2. */
public final class Grpc {
    private Grpc() {
    }

    /** A gRPC call: {@code content-type: application/grpc} or {@code application/grpc+<codec>}. */
    public static boolean isGrpc(HttpRequest request) {
        String type = request.headers().get(HttpHeaderNames.CONTENT_TYPE);
        return type != null && type.regionMatches(true, 0, "application/grpc", 0, 16);
    }
}
