package io.isthmus.gateway.trust;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.rotation.RotationPhase;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.runtime.TrustSnapshot;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Certificates;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;

/**
 * Prometheus metrics of the trust plane: seconds to expiry of every CA this gateway trusts or signs with and of its
 * own SVID (so an alert fires long before anything lapses), where the intermediate's rotation stands, bundle
 * sequences per trust domain, and bundle sync outcomes per peer and reason.
 *
 * <ul>
 * <li>{@code isthmus_cert_expiry_seconds{kind,trust_domain,serial}}: {@code kind} is {@code root} (each federation
 * root in force), {@code intermediate} (each CA in each bundle held, this cluster's own included; the active signer
 * also as {@code active-intermediate}) or {@code gateway-svid}. Rows follow the trust snapshot: a CA that leaves a
 * bundle leaves the metric.</li>
 * <li>{@code isthmus_intermediate_remaining_ratio}: fraction of the active intermediate's lifetime left.</li>
 * <li>{@code isthmus_rotation_phase{phase}}: 1 for the phase the rotation is in, 0 for the others.</li>
 * <li>{@code isthmus_bundle_endpoint_refused_connections_total}: connections the bundle endpoint closed at accept,
 * over its limits per client address or in all.</li>
 * </ul>
 */
final class TrustMetrics {
    private final MeterRegistry registry;
    private final Clock clock = Clock.systemUTC();
    private MultiGauge expiry;

    TrustMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    void bind(TrustRuntime runtime) {
        expiry = MultiGauge.builder("isthmus_cert_expiry_seconds")
                .description("Seconds until the certificate expires (negative once expired)").register(registry);
        refresh(runtime, runtime.snapshot());
        runtime.addListener(s -> refresh(runtime, s));
        Gauge.builder("isthmus_intermediate_remaining_ratio", runtime, r -> r.rotation().view().activeRemaining())
                .description("Fraction of the active intermediate's lifetime left; readiness warns below "
                        + "isthmus.rotation.expiry-warning-fraction").register(registry);
        for (RotationPhase phase : RotationPhase.values()) {
            Gauge.builder("isthmus_rotation_phase", runtime, r -> r.rotation().state().phase() == phase ? 1 : 0)
                    .description("1 for the phase this cluster's intermediate rotation is in").tag("phase", phase.label())
                    .register(registry);
        }
        FunctionCounter.builder("isthmus_bundle_endpoint_refused_connections", runtime,
                TrustRuntime::bundleEndpointRefusedConnections).description("Connections the bundle endpoint closed "
                        + "at accept: over isthmus.bundle-endpoint.max-connections-per-client or max-connections")
                .register(registry);
        for (TrustDomain td : runtime.sync().status().keySet()) {
            bundleSequence(runtime, td);
        }
        bundleSequence(runtime, runtime.trustDomain());
    }

    /** Replaces the expiry rows with those of {@code s} (called on the thread that swapped the snapshot). */
    private synchronized void refresh(TrustRuntime runtime, TrustSnapshot s) {
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        for (X509Certificate root : s.roots().certificates()) {
            rows.add(row("root", "", root));
        }
        for (TrustBundle b : s.bundles().bundles().values()) {
            for (X509Certificate ca : b.x509Authorities()) {
                rows.add(row("intermediate", b.trustDomain().name(), ca));
            }
        }
        rows.add(row("active-intermediate", runtime.trustDomain().name(), runtime.ca().current().certificate()));
        rows.add(row("gateway-svid", runtime.trustDomain().name(), s.svid().leaf()));
        expiry.register(rows, true);
    }

    private MultiGauge.Row<?> row(String kind, String trustDomain, X509Certificate cert) {
        Instant notAfter = cert.getNotAfter().toInstant();
        return MultiGauge.Row.of(Tags.of("kind", kind, "trust_domain", trustDomain, "serial",
                Certificates.serialHex(cert)), () -> seconds(clock, notAfter));
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

    private static double seconds(Clock clock, Instant until) {
        return Duration.between(clock.instant(), until).toMillis() / 1000.0;
    }
}
