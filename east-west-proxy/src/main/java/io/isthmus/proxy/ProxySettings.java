package io.isthmus.proxy;

import java.time.Duration;
import java.util.Objects;

import io.isthmus.registry.MeshName;

/**
 * Limits and timeouts shared by the ingress and the egress listeners.
 *
 * @param meshSuffix       the DNS suffix of mesh names ({@code svc.clusterset.local})
 * @param connectTimeout   TCP connect plus TLS handshake to an upstream (peer ingress or local backend); a peer
 *                         that does not answer within it counts as down and the next cluster is tried
 * @param idleTimeout      a downstream connection from which no byte arrives for this long is closed (reading
 *                         only: tracking writes would cost a listener on every write);
 *                         pooled upstream connections idle for half of it are not reused
 * @param headerTimeout    the request line and headers of each request must arrive within this time from the
 *                         request's first byte (slowloris); answered with 408 and closed
 * @param requestTimeout   longest silence of an upstream while a response is awaited (and longest idle time of a
 *                         pooled upstream connection); answered with 504. A relayed (streaming) gRPC call has no
 *                         overall limit: it ends when no frame moved in either direction for this long
 * @param maxHeaderSize    the request line plus all headers, in bytes; larger requests get 431
 * @param maxBodySize      request and response bodies are buffered whole up to this size; larger ones get 413
 *                         (gRPC calls on HTTP/2 streams are relayed frame by frame, not buffered)
 * @param drainTimeout     how long a connection whose peer's signer was retired may keep serving what is in flight
 *                         (HTTP/2 streams after a GOAWAY, the current HTTP/1.1 exchange, a tunnel) before it is closed
 */
public record ProxySettings(String meshSuffix, Duration connectTimeout, Duration idleTimeout, Duration headerTimeout,
        Duration requestTimeout, int maxHeaderSize, int maxBodySize, Duration drainTimeout) {

    public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofMinutes(10);

    public ProxySettings {
        Objects.requireNonNull(meshSuffix, "meshSuffix");
        positive(connectTimeout, "connectTimeout");
        positive(idleTimeout, "idleTimeout");
        positive(headerTimeout, "headerTimeout");
        positive(requestTimeout, "requestTimeout");
        positive(drainTimeout, "drainTimeout");
        if (maxHeaderSize < 256) {
            throw new IllegalArgumentException("maxHeaderSize " + maxHeaderSize + " is below 256 bytes");
        }
        if (maxBodySize < 0) {
            throw new IllegalArgumentException("maxBodySize must not be negative");
        }
    }

    public ProxySettings(String meshSuffix, Duration connectTimeout, Duration idleTimeout, Duration headerTimeout,
            Duration requestTimeout, int maxHeaderSize, int maxBodySize) {
        this(meshSuffix, connectTimeout, idleTimeout, headerTimeout, requestTimeout, maxHeaderSize, maxBodySize,
                DEFAULT_DRAIN_TIMEOUT);
    }

    public static ProxySettings defaults() {
        return new ProxySettings(MeshName.DEFAULT_SUFFIX, Duration.ofSeconds(2), Duration.ofSeconds(60),
                Duration.ofSeconds(10), Duration.ofSeconds(30), 16 * 1024, 16 * 1024 * 1024);
    }

    public ProxySettings withTimeouts(Duration connect, Duration idle, Duration header) {
        return new ProxySettings(meshSuffix, connect, idle, header, requestTimeout, maxHeaderSize, maxBodySize,
                drainTimeout);
    }

    public ProxySettings withMaxHeaderSize(int bytes) {
        return new ProxySettings(meshSuffix, connectTimeout, idleTimeout, headerTimeout, requestTimeout, bytes,
                maxBodySize, drainTimeout);
    }

    private static void positive(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, was " + d);
        }
    }
}
