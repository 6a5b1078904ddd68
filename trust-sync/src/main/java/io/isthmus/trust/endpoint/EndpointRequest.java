package io.isthmus.trust.endpoint;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;

/**
 * One HTTP request to the bundle endpoint, read whole (the body is bounded by the server). {@code client} is the
 * peer's socket address as accepted: an IP address, never a name (nothing here looks one up).
 */
public record EndpointRequest(String method, String path, Optional<String> rawQuery, InetSocketAddress client,
        byte[] body) {
    public EndpointRequest {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(rawQuery, "rawQuery");
        Objects.requireNonNull(client, "client");
        body = body.clone();
    }

    @Override
    public byte[] body() {
        return body.clone();
    }

    /** The client's IP address as text (e.g. {@code 10.0.0.5}), for logs and per-source limits. */
    public String clientAddress() {
        return client.getAddress().getHostAddress();
    }
}
