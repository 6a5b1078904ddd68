package io.isthmus.gateway.telemetry;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import io.isthmus.proxy.telemetry.HopTracer;
import io.isthmus.proxy.telemetry.TraceHop;
import io.isthmus.proxy.telemetry.TraceParent;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;

/**
 * {@link HopTracer} on the OpenTelemetry SDK: one span per request through this gateway, a child of the caller's
 * span when the request carried a valid {@code traceparent}, exported in batches over OTLP/HTTP (protobuf) by a
 * background thread. Sampling follows the caller's sampled flag; new traces are sampled at {@code samplingRatio}.
 * Thread-safe; {@link #close} flushes what is queued.
 */
public final class OtlpHopTracer implements HopTracer, AutoCloseable {
    private final SdkTracerProvider provider;
    private final Tracer tracer;

    /**
     * @param endpoint the collector's traces URL, e.g. {@code http://otel-collector:4318/v1/traces}
     * @param cluster  this cluster's name, on every span's resource as {@code isthmus.cluster}
     */
    public OtlpHopTracer(URI endpoint, String cluster, double samplingRatio, Duration exportTimeout) {
        OtlpHttpSpanExporter exporter = OtlpHttpSpanExporter.builder().setEndpoint(endpoint.toString())
                .setTimeout(exportTimeout).build();
        this.provider = SdkTracerProvider.builder()
                .setResource(Resource.getDefault().merge(Resource.create(Attributes.of(
                        AttributeKey.stringKey("service.name"), "isthmus-gateway",
                        AttributeKey.stringKey("isthmus.cluster"), cluster))))
                .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(samplingRatio)))
                .addSpanProcessor(BatchSpanProcessor.builder(exporter).build())
                .build();
        this.tracer = provider.get("io.isthmus.gateway");
    }

    @Override
    public HopSpan start(String direction, String name, TraceHop hop, Map<String, String> attributes) {
        Context parent = Context.root();
        if (hop.parent().isPresent()) {
            TraceParent p = hop.parent().get();
            parent = parent.with(Span.wrap(SpanContext.createFromRemoteParent(p.traceId(), p.parentId(),
                    TraceFlags.fromByte((byte) p.flags()), TraceState.getDefault())));
        }
        var builder = tracer.spanBuilder(name).setParent(parent)
                .setSpanKind(direction.equals("egress") ? SpanKind.CLIENT : SpanKind.SERVER)
                .setAttribute("isthmus.direction", direction);
        attributes.forEach(builder::setAttribute);
        Span span = builder.startSpan();
        SpanContext ctx = span.getSpanContext();
        Optional<TraceParent> context = ctx.isValid() ? Optional.of(new TraceParent(ctx.getTraceId(), ctx.getSpanId(),
                ctx.getTraceFlags().asByte() & 0xff)) : Optional.empty();
        return new HopSpan() {
            @Override
            public Optional<TraceParent> context() {
                return context;
            }

            @Override
            public void end(Map<String, String> attributes, int status, String reason) {
                attributes.forEach(span::setAttribute);
                span.setAttribute("http.response.status_code", status);
                if (!reason.isEmpty()) {
                    span.setAttribute("isthmus.reason", reason);
                }
                if (status >= 500 || status == 0 && !reason.isEmpty()) {
                    span.setStatus(StatusCode.ERROR, reason);
                }
                span.end();
            }
        };
    }

    @Override
    public void close() {
        provider.shutdown().join(10, java.util.concurrent.TimeUnit.SECONDS);
    }
}
