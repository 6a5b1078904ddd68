package io.isthmus.proxy.telemetry;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * What one gateway hop of one request (or tunnel) leaves behind: the trace context it sends on, its span, and one
 * access-log line. Made by {@link Telemetry#begin}; {@link #finish} exactly once, when the response's last part went
 * out, the request was refused, or the tunnel closed; later calls do nothing. One event loop only, like the exchange
 * that owns it.
 */
public final class HopRecord {
    private final Telemetry telemetry;
    private final String direction;
    private final TraceHop hop;
    private final HopTracer.HopSpan span;
    private final Instant startTime;
    private final long startNanos;
    private final boolean tracing;
    private boolean finished;

    HopRecord(Telemetry telemetry, String direction, TraceHop hop, HopTracer.HopSpan span, Instant startTime,
            long startNanos, boolean tracing) {
        this.telemetry = telemetry;
        this.direction = direction;
        this.hop = hop;
        this.span = span;
        this.startTime = startTime;
        this.startNanos = startNanos;
        this.tracing = tracing;
    }

    public String direction() {
        return direction;
    }

    public ClusterDirectory directory() {
        return telemetry.directory();
    }

    /**
     * Whether the request's trace headers are rewritten for the next hop. Without tracing they pass on as the caller
     * sent them (the gateway is then invisible to the trace, and the backend sees the caller's own header).
     */
    public boolean rewritesTraceHeaders() {
        return tracing;
    }

    /** The {@code traceparent} to send on (tracing on): the caller's trace, sent by this hop's span. */
    public Optional<String> outgoingTraceparent() {
        return hop.outgoing(span.context()).map(TraceParent::header);
    }

    /** The {@code tracestate} to send on (tracing on): the caller's, only with its valid {@code traceparent}. */
    public Optional<String> outgoingTracestate() {
        return hop.tracestate();
    }

    /** The trace this request belongs to: the caller's, or the one this hop started. */
    public Optional<String> traceId() {
        return hop.outgoing(span.context()).map(TraceParent::traceId);
    }

    /**
     * Ends the span and writes the access-log line.
     *
     * @param kind     {@code request} or {@code tunnel}
     * @param labels   the request's bounded labels (the same the metrics carry)
     * @param details  the unbounded facts, for the access log only
     */
    public void finish(String kind, RequestLabels labels, Details details) {
        if (finished) {
            return;
        }
        finished = true;
        if (tracing) {
            endSpan(labels, details);
        }
        telemetry.accessLog().ifPresent(log -> log.record(new AccessLogEntry(startTime, kind, labels, details.caller(),
                details.peerGateway(), details.method(), details.path(), details.protocol(),
                (System.nanoTime() - startNanos) / 1000, details.bytesIn(), details.bytesOut(), details.upstream(),
                traceId(), details.reason())));
    }

    /** Tracing off, this map is never built: the span is {@code NONE} and the request path stays allocation-light. */
    private void endSpan(RequestLabels labels, Details details) {
        span.end(Map.of("isthmus.source_cluster", labels.sourceCluster(), "isthmus.destination_cluster",
                labels.destinationCluster(), "isthmus.source_trust_domain", labels.sourceTrustDomain(),
                "isthmus.destination_service", labels.destinationService(), "isthmus.caller", details.caller()),
                labels.code(), details.reason().orElse(""));
    }

    /** The facts of one request that the access log carries beyond its labels; see {@link AccessLogEntry}. */
    public record Details(String caller, Optional<String> peerGateway, Optional<String> method, Optional<String> path,
            String protocol, long bytesIn, long bytesOut, Optional<String> upstream, Optional<String> reason) {
    }
}
