package io.isthmus.proxy.metrics;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The data plane's Prometheus metrics. Meters are looked up once per label combination and cached, so the hot
 * path does one map lookup and an atomic add. Thread-safe.
 *
 * <ul>
 * <li>{@code isthmus_requests_total{direction,source_principal,destination_service,code}}: requests answered by
 * the ingress ({@code direction="ingress"}) or the egress ({@code "egress"}); {@code source_principal} is the
 * caller's SPIFFE ID, or {@code unauthenticated};</li>
 * <li>{@code isthmus_request_duration_seconds{direction}}: from the complete request to the response written (a
 * relayed gRPC stream: from its headers to its end);</li>
 * <li>{@code isthmus_grpc_calls_total{direction,destination_service,grpc_status}}: relayed (streaming-path) gRPC
 * calls by the {@code grpc-status} of their trailers, {@code reset} for a call ended by RST_STREAM, {@code none}
 * for a response without one (an HTTP refusal by the peer);</li>
 * <li>{@code isthmus_tls_handshake_failures_total{listener,reason}}: {@code reason} is an SVID rejection label
 * ({@code signer-not-in-bundle}) or {@code not-tls}, {@code no-client-certificate}, ...;</li>
 * <li>{@code isthmus_authz_denials_total{reason}}: denials by the destination's policy and identity checks;</li>
 * <li>{@code isthmus_upstream_connect_failures_total{direction}}: failed connects/handshakes to upstreams;</li>
 * <li>{@code isthmus_connections_drained_total{listener,reason}}: established connections drained after their peer's
 * signer was retired;</li>
 * <li>{@code isthmus_connections_revoked_total{listener,reason}}: established connections closed after a bundle
 * change because their peer no longer verifies.</li>
 * </ul>
 */
public final class ProxyMetrics {
    private final MeterRegistry registry;
    private final ConcurrentMap<RequestKey, Counter> requests = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Counter> handshakeFailures = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Counter> denials = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Counter> connectFailures = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Counter> grpcCalls = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Timer> latency = new ConcurrentHashMap<>();

    private record RequestKey(String direction, String source, String destination, int code) {
    }

    public ProxyMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    public MeterRegistry registry() {
        return registry;
    }

    public void request(String direction, String source, String destination, int code, long startNanos) {
        requests.computeIfAbsent(new RequestKey(direction, source, destination, code),
                k -> Counter.builder("isthmus_requests_total").description("Requests answered by the data plane")
                        .tag("direction", k.direction()).tag("source_principal", k.source())
                        .tag("destination_service", k.destination()).tag("code", Integer.toString(k.code()))
                        .register(registry))
                .increment();
        latency.computeIfAbsent(direction, d -> Timer.builder("isthmus_request_duration_seconds")
                .description("From the complete request to its response").tag("direction", d)
                .register(registry))
                .record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
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
        handshakeFailures.computeIfAbsent("revoked\u0000" + listener + "\u0000" + reason, k -> Counter
                .builder("isthmus_connections_revoked_total")
                .description("Established connections closed because the peer no longer verifies")
                .tag("listener", listener).tag("reason", reason).register(registry)).increment();
    }

    /** An established connection drained because its peer's signer was retired after its SVID expired. */
    public void drained(String listener, String reason) {
        handshakeFailures.computeIfAbsent("drained\u0000" + listener + "\u0000" + reason, k -> Counter
                .builder("isthmus_connections_drained_total")
                .description("Established connections drained (no new requests; in-flight ones finish) because the "
                        + "signer of their peer's expired SVID left its bundle")
                .tag("listener", listener).tag("reason", reason).register(registry)).increment();
    }

    public void connectFailure(String direction) {
        connectFailures.computeIfAbsent(direction, d -> Counter.builder("isthmus_upstream_connect_failures_total")
                .description("Failed connects or TLS handshakes to upstreams").tag("direction", d)
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
