package io.isthmus.proxy;

import java.time.Duration;
import java.util.Objects;

import io.isthmus.proxy.outlier.OutlierPolicy;
import io.isthmus.registry.MeshName;

/**
 * Limits and timeouts shared by the ingress and the egress listeners.
 *
 * @param meshSuffix       the DNS suffix of mesh names ({@code svc.clusterset.local})
 * @param connectTimeout   TCP connect plus TLS handshake (plus, for HTTP/2, the peer's first SETTINGS) to an upstream
 *                         (peer ingress or local backend); a peer that does not answer within it counts as down and
 *                         the next cluster is tried
 * @param idleTimeout      a downstream connection from which no byte arrives for this long is closed, unless an
 *                         exchange is running on it (reading only: tracking writes would cost a listener on every
 *                         write); pooled upstream connections idle for half of it are not reused; an exchange whose
 *                         caller reads nothing for this long is cut short; tunnels and upgraded connections end
 *                         after this long without a byte from the caller
 * @param headerTimeout    the request line and headers of each request must arrive within this time from the
 *                         request's first byte (slowloris); answered with 408 and closed
 * @param requestTimeout   longest time an exchange may go without a byte or frame in either direction between the
 *                         gateway and its upstream (while the caller is not the one holding it up); the caller then
 *                         gets 504 (gRPC: DEADLINE_EXCEEDED). A streamed body or a long-lived stream has no overall
 *                         limit. Also the longest idle time of a pooled upstream connection
 * @param maxHeaderSize    the request line plus all headers, in bytes; larger requests get 431
 * @param maxBodySize      the largest request body, in bytes, counted as it streams (413, or a reset once the
 *                         response began); 0 means no limit. gRPC calls are never limited (they are streams of
 *                         messages, not one body). Bodies are streamed, never held whole, limit or not
 * @param outliers         when a peer cluster that keeps failing connects is skipped
 * @param drainTimeout     how long a connection whose peer's signer was retired may keep serving what is in flight
 *                         (HTTP/2 streams after a GOAWAY, the current HTTP/1.1 exchange, a tunnel) before it is closed
 */
public record ProxySettings(String meshSuffix, Duration connectTimeout, Duration idleTimeout, Duration headerTimeout,
        Duration requestTimeout, int maxHeaderSize, long maxBodySize, OutlierPolicy outliers, Duration drainTimeout) {

    public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofMinutes(10);

    public ProxySettings {
        Objects.requireNonNull(meshSuffix, "meshSuffix");
        Objects.requireNonNull(outliers, "outliers");
        positive(connectTimeout, "connectTimeout");
        positive(idleTimeout, "idleTimeout");
        positive(headerTimeout, "headerTimeout");
        positive(requestTimeout, "requestTimeout");
        positive(drainTimeout, "drainTimeout");
        if (maxHeaderSize < 256) {
            throw new IllegalArgumentException("maxHeaderSize " + maxHeaderSize + " is below 256 bytes");
        }
        if (maxBodySize < 0) {
            throw new IllegalArgumentException("maxBodySize must not be negative (0 means no limit), was "
                    + maxBodySize);
        }
    }

    /** Settings with the default outlier policy and drain timeout. */
    public ProxySettings(String meshSuffix, Duration connectTimeout, Duration idleTimeout, Duration headerTimeout,
            Duration requestTimeout, int maxHeaderSize, long maxBodySize) {
        this(meshSuffix, connectTimeout, idleTimeout, headerTimeout, requestTimeout, maxHeaderSize, maxBodySize,
                OutlierPolicy.defaults(), DEFAULT_DRAIN_TIMEOUT);
    }

    public static ProxySettings defaults() {
        return new ProxySettings(MeshName.DEFAULT_SUFFIX, Duration.ofSeconds(2), Duration.ofSeconds(60),
                Duration.ofSeconds(10), Duration.ofSeconds(30), 16 * 1024, 0);
    }

    public ProxySettings withTimeouts(Duration connect, Duration idle, Duration header) {
        return new ProxySettings(meshSuffix, connect, idle, header, requestTimeout, maxHeaderSize, maxBodySize, outliers, drainTimeout);
    }

    public ProxySettings withMaxHeaderSize(int bytes) {
        return new ProxySettings(meshSuffix, connectTimeout, idleTimeout, headerTimeout, requestTimeout, bytes,
                maxBodySize, outliers, drainTimeout);
    }

    public ProxySettings withMaxBodySize(long bytes) {
        return new ProxySettings(meshSuffix, connectTimeout, idleTimeout, headerTimeout, requestTimeout, maxHeaderSize,
                bytes, outliers, drainTimeout);
    }

    public ProxySettings withRequestTimeout(Duration timeout) {
        return new ProxySettings(meshSuffix, connectTimeout, idleTimeout, headerTimeout, timeout, maxHeaderSize,
                maxBodySize, outliers, drainTimeout);
    }

    public ProxySettings withOutliers(OutlierPolicy policy) {
        return new ProxySettings(meshSuffix, connectTimeout, idleTimeout, headerTimeout, requestTimeout, maxHeaderSize,
                maxBodySize, policy, drainTimeout);
    }

    public ProxySettings withDrainTimeout(Duration timeout) {
        return new ProxySettings(meshSuffix, connectTimeout, idleTimeout, headerTimeout, requestTimeout, maxHeaderSize,
                maxBodySize, outliers, timeout);
    }

    private static void positive(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, was " + d);
        }
    }
}
