package io.isthmus.proxy.telemetry;

import java.util.Map;
import java.util.Optional;

/**
 * Records this gateway's span of a request (OpenTelemetry when {@code isthmus.telemetry.otlp.endpoint} is set;
 * {@link #OFF} otherwise). Called once per request or tunnel by the listener that received it, off the hot path's
 * allocation budget only when tracing is on. Implementations are thread-safe and never block the caller: export
 * happens in the background.
 */
public interface HopTracer {
    /** Records nothing; the caller's {@code traceparent} is forwarded unchanged. */
    HopTracer OFF = (direction, name, hop, attributes) -> HopSpan.NONE;

    /**
     * Starts the span of one request through this gateway, as a child of the caller's span when {@code hop} has one
     * and as a new trace otherwise.
     *
     * @param direction  {@code ingress} (a server span: a peer's request) or {@code egress} (a client span: a local
     *                   caller's request leaving the cluster)
     * @param attributes facts for the span known when it starts
     */
    HopSpan start(String direction, String name, TraceHop hop, Map<String, String> attributes);

    /** One started span; {@link #end} exactly once, when the response (or the tunnel) is done. */
    interface HopSpan {
        HopSpan NONE = new HopSpan() {
            @Override
            public Optional<TraceParent> context() {
                return Optional.empty();
            }

            @Override
            public void end(Map<String, String> attributes, int status, String reason) {
            }
        };

        /** This span as a {@code traceparent} (the trace, and this span's ID), for the next hop. */
        Optional<TraceParent> context();

        /**
         * @param attributes the request's labels, known only once it was decided (low cardinality, plus the caller)
         * @param status     the HTTP status sent, 0 for none (a tunnel, a request cut short)
         * @param reason     the refusal code ({@code x-isthmus-reason}) or empty
         */
        void end(Map<String, String> attributes, int status, String reason);
    }
}
