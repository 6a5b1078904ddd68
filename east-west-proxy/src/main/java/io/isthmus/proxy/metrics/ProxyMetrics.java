package io.isthmus.proxy.metrics;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Counter;
import io.isthmus.proxy.telemetry.RequestLabels;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;

/**
 * The data plane's Prometheus metrics. Meters are looked up once per label combination and cached, so the hot
 * path does one map lookup and an atomic add. Thread-safe.
 *
 * <ul>
 * <li>{@code isthmus_requests_total{direction,source_cluster,destination_cluster,source_trust_domain,
 * destination_service,code}}: requests answered by the ingress ({@code direction="ingress"}) or the egress
 * ({@code "egress"}), every label from a bounded set ({@link RequestLabels}; the caller's SPIFFE ID, which is not,
 * is in the access log);</li>
 * <li>{@code isthmus_request_duration_seconds{...the same labels}}: from the request's head to the response written
 * (a relayed gRPC stream: to its end; a tunnel: to its start);</li>
 * <li>{@code isthmus_grpc_calls_total{direction,destination_service,grpc_status}}: relayed (streaming-path) gRPC
 * calls by the {@code grpc-status} of their trailers, {@code reset} for a call ended by RST_STREAM, {@code none}
 * for a response without one (an HTTP refusal by the peer);</li>
 * <li>{@code isthmus_tls_handshake_failures_total{listener,reason}}: {@code reason} is an SVID rejection label
 * ({@code signer-not-in-bundle}) or {@code not-tls}, {@code no-client-certificate}, ...;</li>
 * <li>{@code isthmus_authz_denials_total{reason}}: denials by the destination's policy and identity checks;</li>
 * <li>{@code isthmus_upstream_connect_failures_total{direction,cluster}}: failed connects/handshakes to upstreams
 * ({@code cluster} is the peer cluster on the egress, {@code local} for backends on the ingress);</li>
 * <li>{@code isthmus_outlier_ejections_total{cluster}}: times a peer cluster was skipped after failing connects in a
 * row;</li>
 * <li>{@code isthmus_connections_drained_total{listener,reason}}: established connections drained after their peer's
 * signer was retired;</li>
 * <li>{@code isthmus_connections_revoked_total{listener,reason}}: established connections closed after a bundle
 * change because their peer no longer verifies;</li>
 * <li>{@code isthmus_refused_connections_total{listener,reason}}: connections a listener closed at accept, before any
 * TLS work, because their client address held {@code max-connections-per-client} open connections already
 * ({@code reason="max-connections-per-client"}) or the listener held {@code max-connections}
 * ({@code reason="max-connections"});</li>
 * <li>{@code isthmus_proxy_buffers_bytes{memory}}: bytes the data plane's pooled buffers hold right now, direct and
 * heap ({@code memory="direct"|"heap"}): bodies stream through, so this stays flat however large a transfer and
 * however slow its reader.</li>
 * </ul>
 */
public final class ProxyMetrics {
    private final MeterRegistry registry;
    private final ConcurrentMap<RequestLabels, RequestMeters> requests = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Counter> handshakeFailures = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Counter> denials = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Counter> connectFailures = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Counter> grpcCalls = new ConcurrentHashMap<>();

    private record RequestMeters(Counter count, Timer duration) {
    }

    public ProxyMetrics(MeterRegistry registry) {
        this.registry = registry;
        // Pinned: what live buffers hold (not the pool's reserved chunks, which it keeps for reuse).
        io.netty.buffer.PooledByteBufAllocator buffers = io.netty.buffer.PooledByteBufAllocator.DEFAULT;
        io.micrometer.core.instrument.Gauge.builder("isthmus_proxy_buffers_bytes", buffers,
                io.netty.buffer.PooledByteBufAllocator::pinnedDirectMemory)
                .description("Bytes held by the data plane's pooled buffers").tag("memory", "direct").register(registry);
        io.micrometer.core.instrument.Gauge.builder("isthmus_proxy_buffers_bytes", buffers,
                io.netty.buffer.PooledByteBufAllocator::pinnedHeapMemory)
                .description("Bytes held by the data plane's pooled buffers").tag("memory", "heap").register(registry);
    }

    public MeterRegistry registry() {
        return registry;
    }

    public void request(RequestLabels labels, long startNanos) {
        RequestMeters m = requests.computeIfAbsent(labels, l -> {
            Tags tags = Tags.of("direction", l.direction(), "source_cluster", l.sourceCluster(), "destination_cluster",
                    l.destinationCluster(), "source_trust_domain", l.sourceTrustDomain(), "destination_service",
                    l.destinationService(), "code", Integer.toString(l.code()));
            return new RequestMeters(Counter.builder("isthmus_requests_total")
                    .description("Requests answered by the data plane, by cluster pair, service and status").tags(tags)
                    .register(registry), Timer.builder("isthmus_request_duration_seconds")
                    .description("From the request's head to its response, by cluster pair").tags(tags)
                    .register(registry));
        });
        m.count().increment();
        m.duration().record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
    }

    /** A relayed gRPC call ended with {@code grpcStatus} (a number, {@code reset} or {@code none}). */
    public void grpcCall(String direction, String destination, String grpcStatus) {
        grpcCalls.computeIfAbsent(direction + "\u0000" + destination + "\u0000" + grpcStatus, k -> Counter
                .builder("isthmus_grpc_calls_total").description("Relayed gRPC calls by grpc-status")
                .tag("direction", direction).tag("destination_service", destination).tag("grpc_status", grpcStatus)
                .register(registry)).increment();
    }

    public void handshakeFailure(String listener, String reason) {
        handshakeFailures.computeIfAbsent(listener + "\u0000" + reason, k -> Counter
                .builder("isthmus_tls_handshake_failures_total").description("Refused or failed TLS handshakes")
                .tag("listener", listener).tag("reason", reason).register(registry)).increment();
    }

    public void authzDenial(String reason) {
        denials.computeIfAbsent(reason, r -> Counter.builder("isthmus_authz_denials_total")
                .description("Requests refused by the destination's identity checks or policy").tag("reason", r)
                .register(registry)).increment();
    }

    /** An established connection closed because its peer's SVID no longer verifies (bundle change). */
    public void revoked(String listener, String reason) {
        countConnection("isthmus_connections_revoked_total",
                "Established connections closed because the peer no longer verifies", listener, reason);
    }

    /** An established connection drained because its peer's signer was retired after its SVID expired. */
    public void drained(String listener, String reason) {
        countConnection("isthmus_connections_drained_total", "Established connections drained (no new requests; "
                + "in-flight ones finish) because the signer of their peer's expired SVID left its bundle", listener,
                reason);
    }

    public void connectFailure(String direction, String cluster) {
        connectFailures.computeIfAbsent(direction + "\u0000" + cluster, k -> Counter
                .builder("isthmus_upstream_connect_failures_total")
                .description("Failed connects or TLS handshakes to upstreams").tag("direction", direction)
                .tag("cluster", cluster).register(registry)).increment();
    }

    /** A peer cluster was ejected from routing after failing connects in a row. */
    public void outlierEjected(String cluster) {
        connectFailures.computeIfAbsent("ejected\u0000" + cluster, k -> Counter
                .builder("isthmus_outlier_ejections_total")
                .description("Times a peer cluster was skipped after failing connects in a row").tag("cluster", cluster)
                .register(registry)).increment();
    }

    /**
     * A connection {@code listener} closed at accept because a connection limit was reached; {@code reason} is the
     * limit's setting ({@code max-connections-per-client}, {@code max-connections}).
     */
    public void connectionRefused(String listener, String reason) {
        countConnection("isthmus_refused_connections_total", "Connections closed at accept, before any TLS work, "
                + "because their client address or the listener held as many open connections as allowed", listener,
                reason);
    }

    /** Counts one connection in the counter {@code metric} with the tags {@code listener} and {@code reason}. */
    private void countConnection(String metric, String description, String listener, String reason) {
        handshakeFailures.computeIfAbsent(metric + "\u0000" + listener + "\u0000" + reason, k -> Counter
                .builder(metric).description(description).tag("listener", listener).tag("reason", reason)
                .register(registry)).increment();
    }

    /**
     * A request refused before it was served because it was malformed or ambiguous (a smuggling attempt, a path
     * backends read differently), or an HTTP/2 stream the codec reset; {@code reason} is the refusal's code.
     */
    public void requestRefused(String listener, String reason) {
        handshakeFailures.computeIfAbsent("refused\u0000" + listener + "\u0000" + reason, k -> Counter
                .builder("isthmus_requests_refused_total")
                .description("Malformed or ambiguous requests refused before they were served")
                .tag("listener", listener).tag("reason", reason).register(registry)).increment();
    }
}
