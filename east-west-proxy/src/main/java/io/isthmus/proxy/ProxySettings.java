package io.isthmus.proxy;

import java.time.Duration;
import java.util.Objects;

import io.isthmus.proxy.outlier.OutlierPolicy;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.endpoint.ConnectionLimits;

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
 * @param ingressConnections how many connections the ingress holds open from one client address and in all; more
 *                         are closed at accept, before any TLS work
 * @param egressConnections the same for the egress; its per-service TCP listeners together have one more count with
 *                         these limits
 */
public record ProxySettings(String meshSuffix, Duration connectTimeout, Duration idleTimeout, Duration headerTimeout,
        Duration requestTimeout, int maxHeaderSize, long maxBodySize, OutlierPolicy outliers, Duration drainTimeout,
        ConnectionLimits ingressConnections, ConnectionLimits egressConnections) {

    public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofMinutes(10);

    /**
     * 512 per client address, 4,096 in all. A peer gateway multiplexes its requests on a few HTTP/2 connections, but
     * each tunnel, TCP-listener connection and end-to-end mTLS (passthrough) connection it relays is a connection of
     * its own from its address, and a peer's replicas may share one NAT address.
     */
    public static final ConnectionLimits DEFAULT_INGRESS_CONNECTIONS = new ConnectionLimits("isthmus.proxy.ingress",
            512, 4096, Duration.ofMinutes(1));

    /**
     * 2,048 per client address, 8,192 in all. Callers are local pods, and many of them may reach the egress from one
     * address (a node's, for host-network pods or behind SNAT): a node with 110 pods can hold about 18 connections
     * per pod through one address, while one address still cannot take more than a quarter of the egress.
     */
    public static final ConnectionLimits DEFAULT_EGRESS_CONNECTIONS = new ConnectionLimits("isthmus.proxy.egress",
            2048, 8192, Duration.ofMinutes(1));

    public ProxySettings {
        Objects.requireNonNull(meshSuffix, "meshSuffix");
        Objects.requireNonNull(outliers, "outliers");
        positive(connectTimeout, "connectTimeout");
        positive(idleTimeout, "idleTimeout");
        positive(headerTimeout, "headerTimeout");
        positive(requestTimeout, "requestTimeout");
        positive(drainTimeout, "drainTimeout");
        Objects.requireNonNull(ingressConnections, "ingressConnections");
        Objects.requireNonNull(egressConnections, "egressConnections");
        if (maxHeaderSize < 256) {
            throw new IllegalArgumentException("maxHeaderSize " + maxHeaderSize + " is below 256 bytes");
        }
        if (maxBodySize < 0) {
            throw new IllegalArgumentException("maxBodySize must not be negative (0 means no limit), was "
                    + maxBodySize);
        }
    }

    /** Settings with the default connection limits. */
    public ProxySettings(String meshSuffix, Duration connectTimeout, Duration idleTimeout, Duration headerTimeout,
            Duration requestTimeout, int maxHeaderSize, long maxBodySize, OutlierPolicy outliers,
            Duration drainTimeout) {
        this(meshSuffix, connectTimeout, idleTimeout, headerTimeout, requestTimeout, maxHeaderSize, maxBodySize,
                outliers, drainTimeout, DEFAULT_INGRESS_CONNECTIONS, DEFAULT_EGRESS_CONNECTIONS);
    }

    /** Settings with the default outlier policy, drain timeout and connection limits. */
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
        return new ProxySettings(meshSuffix, connect, idle, header, requestTimeout, maxHeaderSize, maxBodySize, outliers,
                drainTimeout, ingressConnections, egressConnections);
    }

    public ProxySettings withMaxHeaderSize(int bytes) {
        return new ProxySettings(meshSuffix, connectTimeout, idleTimeout, headerTimeout, requestTimeout, bytes,
                maxBodySize, outliers, drainTimeout, ingressConnections, egressConnections);
    }

    public ProxySettings withMaxBodySize(long bytes) {
        return new ProxySettings(meshSuffix, connectTimeout, idleTimeout, headerTimeout, requestTimeout, maxHeaderSize,
                bytes, outliers, drainTimeout, ingressConnections, egressConnections);
    }

    public ProxySettings withRequestTimeout(Duration timeout) {
        return new ProxySettings(meshSuffix, connectTimeout, idleTimeout, headerTimeout, timeout, maxHeaderSize,
                maxBodySize, outliers, drainTimeout, ingressConnections, egressConnections);
    }

    public ProxySettings withOutliers(OutlierPolicy policy) {
        return new ProxySettings(meshSuffix, connectTimeout, idleTimeout, headerTimeout, requestTimeout, maxHeaderSize,
                maxBodySize, policy, drainTimeout, ingressConnections, egressConnections);
    }

    public ProxySettings withDrainTimeout(Duration timeout) {
        return new ProxySettings(meshSuffix, connectTimeout, idleTimeout, headerTimeout, requestTimeout, maxHeaderSize,
                maxBodySize, outliers, timeout, ingressConnections, egressConnections);
    }

    /** The same settings with these connection limits for the ingress and the egress. */
    public ProxySettings withConnectionLimits(ConnectionLimits ingress, ConnectionLimits egress) {
        return new ProxySettings(meshSuffix, connectTimeout, idleTimeout, headerTimeout, requestTimeout, maxHeaderSize,
                maxBodySize, outliers, drainTimeout, ingress, egress);
    }

    private static void positive(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, was " + d);
        }
    }
}
