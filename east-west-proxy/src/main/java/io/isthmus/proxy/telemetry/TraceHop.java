package io.isthmus.proxy.telemetry;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What one gateway hop does with W3C trace context, decided from the request's headers alone. Pure.
 *
 * <ul>
 * <li>Exactly one valid {@code traceparent}: the hop continues that trace (its span's parent is the caller's span)
 * and forwards {@code tracestate} unchanged.</li>
 * <li>None, an invalid one, or several: a new trace starts here; {@code tracestate} is dropped, as the specification
 * requires when there is no valid {@code traceparent} to go with it.</li>
 * </ul>
 *
 * The outgoing header is the incoming trace sent by this hop's span ({@link TraceParent#sentBy}) when the gateway
 * records spans, and the incoming header unchanged when it does not: either way the trace ID reaching the backend is
 * the caller's.
 *
 * @param parent   the caller's span, when the request carried a valid one
 * @param ignored  why the request's {@code traceparent} could not be continued, when it had one
 * @param tracestate what to forward as {@code tracestate}
 */
public record TraceHop(Optional<TraceParent> parent, Optional<TraceParent.Verdict.Invalid> ignored,
        Optional<String> tracestate) {

    public TraceHop {
        Objects.requireNonNull(parent, "parent");
        Objects.requireNonNull(ignored, "ignored");
        Objects.requireNonNull(tracestate, "tracestate");
    }

    public static TraceHop of(List<String> traceparents, List<String> tracestates) {
        if (traceparents.isEmpty()) {
            return new TraceHop(Optional.empty(), Optional.empty(), Optional.empty());
        }
        if (traceparents.size() > 1) {
            return new TraceHop(Optional.empty(), Optional.of(new TraceParent.Verdict.Invalid(TraceParentError.REPEATED,
                    traceparents.size() + " traceparent headers")), Optional.empty());
        }
        return switch (TraceParent.parse(traceparents.get(0))) {
            case TraceParent.Verdict.Parsed p -> new TraceHop(Optional.of(p.value()), Optional.empty(),
                    tracestates.isEmpty() ? Optional.empty() : Optional.of(String.join(",", tracestates)));
            case TraceParent.Verdict.Invalid i -> new TraceHop(Optional.empty(), Optional.of(i), Optional.empty());
        };
    }

    /**
     * The {@code traceparent} to send on: the caller's trace sent by {@code hopSpan} (this gateway's span, when it
     * records one); the caller's header unchanged without a span; a new trace only with a span to start it.
     */
    public Optional<TraceParent> outgoing(Optional<TraceParent> hopSpan) {
        if (hopSpan.isPresent()) {
            return hopSpan;
        }
        return parent;
    }
}
