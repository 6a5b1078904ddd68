package io.isthmus.proxy.telemetry;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import io.isthmus.trust.spiffe.TrustDomain;

/**
 * The data plane's cluster-aware telemetry, as one listener uses it: the label {@link ClusterDirectory}, the JSON
 * access log (when enabled) and the span {@link HopTracer}. Each exchange takes a {@link HopRecord} from
 * {@link #begin} and finishes it once. Thread-safe; the parts are shared by all listeners of a gateway.
 */
public record Telemetry(ClusterDirectory directory, Optional<JsonAccessLog> accessLog, HopTracer tracer, Clock clock) {

    public Telemetry {
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(accessLog, "accessLog");
        Objects.requireNonNull(tracer, "tracer");
        Objects.requireNonNull(clock, "clock");
    }

    /**
     * For a listener given no telemetry (tests, the VM agent's local egress): every cluster is {@code unknown}, no
     * access log, no spans, {@code traceparent} passed on untouched.
     */
    public static Telemetry none() {
        return new Telemetry(ClusterDirectory.unconfigured(), Optional.empty(), HopTracer.OFF, Clock.systemUTC());
    }

    /**
     * Labels for a listener that knows only its own cluster (tests, the VM agent): peers' callers count as
     * {@code unknown}; no access log, no spans, {@code traceparent} passed on untouched.
     */
    public static Telemetry labelsOnly(String cluster, TrustDomain trustDomain) {
        return new Telemetry(new ClusterDirectory(cluster, Map.of(trustDomain, cluster), 500), Optional.empty(),
                HopTracer.OFF, Clock.systemUTC());
    }

    /**
     * Starts the record of one request (or tunnel) that arrived at this gateway's {@code direction} listener with these
     * {@code traceparent} and {@code tracestate} header values: its span starts now when tracing is on.
     */
    public HopRecord begin(String direction, List<String> traceparents, List<String> tracestates) {
        TraceHop hop = TraceHop.of(traceparents, tracestates);
        HopTracer.HopSpan span = tracer == HopTracer.OFF ? HopTracer.HopSpan.NONE
                : tracer.start(direction, "isthmus " + direction, hop, Map.of());
        return new HopRecord(this, direction, hop, span, clock.instant(), System.nanoTime(), tracer != HopTracer.OFF);
    }
}
