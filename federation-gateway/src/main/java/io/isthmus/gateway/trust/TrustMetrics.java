package io.isthmus.gateway.trust;

import java.time.Clock;
import java.time.Duration;

import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.spiffe.TrustDomain;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Prometheus metrics of the trust plane: certificate expiry (so an alert fires before an intermediate lapses),
 * bundle sequences per trust domain, and bundle sync outcomes per peer and reason.
 */
final class TrustMetrics {
    private final MeterRegistry registry;

    TrustMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    void bind(TrustRuntime runtime) {
        Clock clock = Clock.systemUTC();
        Gauge.builder("isthmus_cert_expiry_seconds", runtime,
                r -> seconds(clock, r.ca().current().certificate().getNotAfter().toInstant()))
                .description("Seconds until the certificate expires").tag("kind", "intermediate")
                .register(registry);
        Gauge.builder("isthmus_cert_expiry_seconds", runtime, r -> seconds(clock, r.current().notAfter()))
                .description("Seconds until the certificate expires").tag("kind", "gateway-svid")
                .register(registry);
        for (TrustDomain td : runtime.sync().status().keySet()) {
            bundleSequence(runtime, td);
        }
        bundleSequence(runtime, runtime.trustDomain());
    }

    private void bundleSequence(TrustRuntime runtime, TrustDomain td) {
        Gauge.builder("isthmus_bundle_sequence", runtime, r -> r.bundleFor(td).map(b -> (double) b.sequence()).orElse(-1.0))
                .description("spiffe_sequence of the bundle in force, -1 when none").tag("trust_domain", td.name())
                .register(registry);
    }

    void syncOutcome(TrustDomain peer, String outcome) {
        Counter.builder("isthmus_bundle_sync_total").description("Peer bundle polls by outcome")
                .tag("trust_domain", peer.name()).tag("outcome", outcome).register(registry).increment();
    }

    private static double seconds(Clock clock, java.time.Instant until) {
        return Duration.between(clock.instant(), until).toMillis() / 1000.0;
    }
}
