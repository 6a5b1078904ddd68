package io.isthmus.proxy.sni;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Metrics of routing by server name. Thread-safe; meters cached per label combination.
 * <ul>
 * <li>{@code isthmus_sni_routes_total{listener,route}}: each connection's route decision: {@code terminate},
 * {@code tcp}, {@code passthrough}, or the refusal code ({@code sni-http-port}, ...);</li>
 * <li>{@code isthmus_passthrough_connections_total{listener,destination_service}}: connections relayed undecrypted
 * once their far end accepted (the gateway saw no request in them, so they are in no request metric).</li>
 * </ul>
 */
public final class RouteMetrics {
    private final MeterRegistry registry;
    private final ConcurrentMap<String, Counter> counters = new ConcurrentHashMap<>();

    public RouteMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    public void route(String listener, String route) {
        counters.computeIfAbsent("route\u0000" + listener + "\u0000" + route, k -> Counter
                .builder("isthmus_sni_routes_total").description("Connections by the route their server name chose")
                .tag("listener", listener).tag("route", route).register(registry)).increment();
    }

    public void passthrough(String listener, String destination) {
        counters.computeIfAbsent("passthrough\u0000" + listener + "\u0000" + destination, k -> Counter
                .builder("isthmus_passthrough_connections_total")
                .description("Connections relayed end to end without decryption")
                .tag("listener", listener).tag("destination_service", destination).register(registry)).increment();
    }
}
