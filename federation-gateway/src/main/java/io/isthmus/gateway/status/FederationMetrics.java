package io.isthmus.gateway.status;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.proxy.ProxyConfig;
import io.isthmus.gateway.registry.RegistryService;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.Locality;
import io.isthmus.registry.RegistryQuery;
import io.isthmus.trust.federation.PeerSyncStatus;
import io.isthmus.trust.spiffe.TrustDomain;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;

/**
 * The gauges the alert rules ({@code monitoring/prometheus/isthmus-rules.yml}) need beyond the trust, registry and
 * data-plane metrics: one series per configured peer and peer site (bounded by configuration, not by traffic).
 *
 * <ul>
 * <li>{@code isthmus_peer_bundle_stale{peer,trust_domain}}: 1 while the peer's bundle is stale;</li>
 * <li>{@code isthmus_peer_bundle_age_seconds{peer,trust_domain}}: since the last successful poll (-1 before one);</li>
 * <li>{@code isthmus_peer_ca_expiry_seconds{peer,trust_domain}}: until the last CA in the peer's bundle expires;</li>
 * <li>{@code isthmus_registry_site_connected{site}}: 1 while the bridge's site view holds the peer site;</li>
 * <li>{@code isthmus_services_failing_over}: mesh names whose nearest exporting cluster (by locality, as the egress
 * ranks them) cannot be routed to while a farther one can: calls to them are being served by a fallback.</li>
 * </ul>
 */
@ApplicationScoped
public class FederationMetrics {
    @Inject
    GatewayConfig gateway;

    @Inject
    ProxyConfig proxy;

    @Inject
    TrustService trust;

    @Inject
    RegistryService registry;

    @Inject
    MeterRegistry meters;

    @Inject
    Clock clock;

    void bind(@Observes StartupEvent start) {
        gateway.peers().forEach((name, peer) -> {
            TrustDomain td = TrustDomain.parse(peer.trustDomain());
            Gauge.builder("isthmus_peer_bundle_stale", this, m -> m.sync(td).map(s -> s.stale() ? 1.0 : 0.0).orElse(1.0))
                    .description("1 while the peer's bundle is stale (no successful poll for several refresh intervals)")
                    .tag("peer", name).tag("trust_domain", td.name()).register(meters);
            Gauge.builder("isthmus_peer_bundle_age_seconds", this, m -> m.sync(td).flatMap(PeerSyncStatus::lastSuccess)
                    .map(t -> seconds(t, m.clock.instant())).orElse(-1.0))
                    .description("Seconds since the peer's bundle was last fetched successfully, -1 before the first")
                    .tag("peer", name).tag("trust_domain", td.name()).register(meters);
            // The last CA to expire, not the first: a bundle keeps a retiring CA next to its successor until it lapses.
            Gauge.builder("isthmus_peer_ca_expiry_seconds", this, m -> m.trust.runtime().bundleFor(td)
                    .flatMap(b -> b.x509Authorities().stream().map(X509Certificate::getNotAfter).max(java.util.Date::compareTo))
                    .map(t -> seconds(m.clock.instant(), t.toInstant())).orElse(Double.NaN))
                    .description("Seconds until the last CA in the peer's bundle expires (then nothing of it verifies)")
                    .tag("peer", name)
                    .tag("trust_domain", td.name()).register(meters);
        });
        registry.config().peers().keySet().forEach(site -> Gauge.builder("isthmus_registry_site_connected", this,
                m -> m.registry.node().map(n -> n.sitesView().contains(site) ? 1.0 : 0.0).orElse(0.0))
                .description("1 while the cross-site bridge connects this gateway to the peer site").tag("site", site)
                .register(meters));
        Gauge.builder("isthmus_services_failing_over", this, FederationMetrics::failingOver)
                .description("Mesh names whose nearest exporting cluster is not routable while a farther one is")
                .register(meters);
    }

    private Optional<PeerSyncStatus> sync(TrustDomain td) {
        return Optional.ofNullable(trust.runtime().sync().status().get(td));
    }

    double failingOver() {
        Instant now = clock.instant();
        Locality here = new Locality(proxy.locality().region().orElse(""), proxy.locality().zone().orElse(""));
        String suffix = registry.registry().meshSuffix();
        return registry.registry().list(RegistryQuery.ALL).stream()
                .collect(java.util.stream.Collectors.groupingBy(e -> e.meshName(suffix).host())).values().stream()
                .filter(exports -> failingOver(exports, here, now)).count();
    }

    /** The nearest export (by locality, then name, as the egress orders them) is down while another is up. */
    static boolean failingOver(List<ExportedService> exports, Locality here, Instant now) {
        int nearest = exports.stream().mapToInt(e -> here.distanceTo(e.locality())).min().orElse(Integer.MAX_VALUE);
        boolean nearestUp = exports.stream().anyMatch(e -> here.distanceTo(e.locality()) == nearest && e.routable(now));
        boolean anyUp = exports.stream().anyMatch(e -> e.routable(now));
        return anyUp && !nearestUp;
    }

    private static double seconds(Instant from, Instant to) {
        return Duration.between(from, to).toMillis() / 1000.0;
    }
}
