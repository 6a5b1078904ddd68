package io.isthmus.proxy.telemetry;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;

/**
 * Cluster-aware request metrics, one series per {@link RequestLabels} (bounded: see there):
 *
 * <ul>
 * <li>{@code isthmus_cluster_requests_total{direction,source_cluster,destination_cluster,source_trust_domain,
 * destination_service,code}}: requests answered, and tunnels ended ({@code code="0"});</li>
 * <li>{@code isthmus_cluster_request_duration_seconds{...same}}: from the complete request (or the tunnel's start)
 * to the response written (or the tunnel's end).</li>
 * </ul>
 *
 * Meters are cached per label set, so the hot path is one map lookup and atomic adds. Thread-safe.
 */
public final class ClusterRequestMetrics {
    private final MeterRegistry registry;
    private final ConcurrentMap<RequestLabels, Meters> meters = new ConcurrentHashMap<>();

    private record Meters(Counter count, Timer duration) {
    }

    public ClusterRequestMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    public void record(RequestLabels labels, long durationNanos) {
        Meters m = meters.computeIfAbsent(labels, this::register);
        m.count().increment();
        m.duration().record(durationNanos, TimeUnit.NANOSECONDS);
    }

    private Meters register(RequestLabels l) {
        Tags tags = Tags.of("direction", l.direction(), "source_cluster", l.sourceCluster(), "destination_cluster",
                l.destinationCluster(), "source_trust_domain", l.sourceTrustDomain(), "destination_service",
                l.destinationService(), "code", Integer.toString(l.code()));
        return new Meters(Counter.builder("isthmus_cluster_requests_total")
                .description("Requests and tunnels through the gateway, by cluster pair, service and status")
                .tags(tags).register(registry),
                Timer.builder("isthmus_cluster_request_duration_seconds")
                        .description("From the complete request to the response written, by cluster pair")
                        .tags(tags).register(registry));
    }
}
