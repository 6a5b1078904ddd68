package io.isthmus.proxy.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.isthmus.trust.spiffe.TrustDomain;

/**
 * What one hop does with the caller's trace context: without tracing the headers pass untouched (so the backend sees
 * the caller's own header); with tracing the trace ID sent on is the caller's and the parent is this hop's span; a
 * missing, invalid or repeated header starts a new trace and drops {@code tracestate}. The span ends once, with the
 * request's cluster labels.
 */
class HopRecordTest {
    static final String CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    static final String CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    static final RequestLabels LABELS = new RequestLabels("egress", "alpha", "beta", "alpha.acme.internal",
            "payments.billing.svc.clusterset.local", 200);
    static final HopRecord.Details DETAILS = new HopRecord.Details("spiffe://alpha.acme.internal/ns/shop/sa/checkout",
            Optional.empty(), Optional.of("GET"), Optional.of("/charge"), "http/1.1", 0, 12, Optional.of("beta"),
            Optional.empty());

    /** Records spans; each gets span ID 0..01, 0..02, ... and the caller's trace, or a fixed new one. */
    static final class FakeTracer implements HopTracer {
        final List<Map<String, String>> ended = new ArrayList<>();
        final List<Integer> statuses = new ArrayList<>();

        @Override
        public HopSpan start(String direction, String name, TraceHop hop, Map<String, String> attributes) {
            String span = String.format("%016x", ended.size() + 1L);
            TraceParent ctx = hop.parent().map(p -> p.sentBy(span))
                    .orElse(new TraceParent("0af7651916cd43dd8448eb211c80319c", span, 1));
            return new HopSpan() {
                @Override
                public Optional<TraceParent> context() {
                    return Optional.of(ctx);
                }

                @Override
                public void end(Map<String, String> attributes, int status, String reason) {
                    ended.add(attributes);
                    statuses.add(status);
                }
            };
        }
    }

    private static Telemetry telemetry(HopTracer tracer) {
        return new Telemetry(new ClusterDirectory("alpha", Map.of(TrustDomain.parse("alpha.acme.internal"), "alpha",
                TrustDomain.parse("beta.acme.internal"), "beta"), 10), Optional.empty(), tracer,
                Clock.fixed(Instant.parse("2026-12-05T00:00:00Z"), ZoneOffset.UTC));
    }

    @Test
    void withoutTracingTheCallersHeadersPassUntouched() {
        HopRecord r = telemetry(HopTracer.OFF).begin("egress", List.of(CALLER), List.of("vendor=1"));
        assertThat(r.rewritesTraceHeaders()).isFalse();
        assertThat(r.traceId()).contains(CALLER_TRACE);
        assertThat(telemetry(HopTracer.OFF).begin("egress", List.of(), List.of()).traceId()).isEmpty();
    }

    @Test
    void withTracingTheCallersTraceGoesOnSentByThisHopsSpan() {
        FakeTracer tracer = new FakeTracer();
        HopRecord r = telemetry(tracer).begin("egress", List.of(CALLER), List.of("vendor=1", "other=2"));
        assertThat(r.rewritesTraceHeaders()).isTrue();
        assertThat(r.outgoingTraceparent()).contains("00-" + CALLER_TRACE + "-0000000000000001-01");
        assertThat(r.outgoingTracestate()).contains("vendor=1,other=2");
        assertThat(r.traceId()).contains(CALLER_TRACE);
    }

    @Test
    void anInvalidMissingOrRepeatedTraceparentStartsANewTraceWithoutTracestate() {
        FakeTracer tracer = new FakeTracer();
        for (List<String> given : List.of(List.<String>of(), List.of("00-xyz"), List.of(CALLER, CALLER),
                List.of("00-00000000000000000000000000000000-00f067aa0ba902b7-01"))) {
            HopRecord r = telemetry(tracer).begin("ingress", given, List.of("vendor=1"));
            assertThat(r.traceId()).as("%s", given).contains("0af7651916cd43dd8448eb211c80319c");
            assertThat(r.outgoingTracestate()).as("%s", given).isEmpty();
        }
    }

    @Test
    void theSpanEndsOnceWithTheRequestsLabels() {
        FakeTracer tracer = new FakeTracer();
        HopRecord r = telemetry(tracer).begin("egress", List.of(CALLER), List.of());
        r.finish("request", LABELS, DETAILS);
        r.finish("request", LABELS, DETAILS);
        assertThat(tracer.ended).hasSize(1);
        assertThat(tracer.ended.get(0)).containsEntry("isthmus.source_cluster", "alpha")
                .containsEntry("isthmus.destination_cluster", "beta")
                .containsEntry("isthmus.destination_service", "payments.billing.svc.clusterset.local");
        assertThat(tracer.statuses).containsExactly(200);
    }
}
