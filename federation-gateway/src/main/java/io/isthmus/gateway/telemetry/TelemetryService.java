package io.isthmus.gateway.telemetry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.registry.RegistryService;
import io.isthmus.proxy.authz.audit.AuditSink;
import io.isthmus.proxy.authz.audit.FileAuditSink;
import io.isthmus.proxy.telemetry.CategorySink;
import io.isthmus.proxy.telemetry.ClusterDirectory;
import io.isthmus.proxy.telemetry.HopTracer;
import io.isthmus.proxy.telemetry.JsonAccessLog;
import io.isthmus.proxy.telemetry.Telemetry;
import io.isthmus.trust.spiffe.TrustDomain;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The data plane's cluster-aware telemetry, assembled from configuration for the listeners to use: the label
 * directory (this cluster and every peer by trust domain), the request metrics, the JSON access log and the span
 * tracer ({@link HopTracer#OFF} unless {@code isthmus.telemetry.otlp.endpoint} is set), as one {@link Telemetry}.
 * Created on first use.
 */
@ApplicationScoped
public class TelemetryService {
    private static final Logger LOG = Logger.getLogger(TelemetryService.class);

    private final Telemetry telemetry;

    @Inject
    public TelemetryService(TelemetryConfig config, GatewayConfig gateway, RegistryService registry,
            MeterRegistry meters, Clock clock) {
        Map<TrustDomain, String> clusters = new HashMap<>();
        clusters.put(TrustDomain.parse(gateway.trustDomain()), registry.site());
        gateway.peers().forEach((name, peer) -> clusters.put(TrustDomain.parse(peer.trustDomain()),
                registry.siteOf(name, TrustDomain.parse(peer.trustDomain())).orElse(name)));
        ClusterDirectory directory = new ClusterDirectory(registry.site(), clusters, config.maxServiceLabels());
        Optional<JsonAccessLog> accessLog = config.accessLog().enabled()
                ? Optional.of(new JsonAccessLog(sink(config), meters, config.accessLog().queueCapacity()))
                : Optional.empty();
        HopTracer tracer = config.otlp().endpoint().<HopTracer>map(endpoint -> {
            LOG.infof("tracing: spans exported over OTLP/HTTP to %s (sampling %.2f of new traces)", endpoint,
                    config.otlp().samplingRatio());
            return new OtlpHopTracer(endpoint, registry.site(), config.otlp().samplingRatio(), config.otlp().timeout());
        }).orElse(HopTracer.OFF);
        this.telemetry = new Telemetry(directory, accessLog, tracer, clock);
    }

    private static AuditSink sink(TelemetryConfig config) {
        if (config.accessLog().path().isEmpty()) {
            return new CategorySink();
        }
        try {
            return new FileAuditSink(config.accessLog().path().get());
        } catch (IOException e) {
            throw new UncheckedIOException("isthmus.telemetry.access-log.path: cannot open "
                    + config.accessLog().path().get() + " for appending: " + e.getMessage(), e);
        }
    }

    /** What the listeners record with. */
    public Telemetry telemetry() {
        return telemetry;
    }

    @PreDestroy
    void stop() {
        telemetry.accessLog().ifPresent(JsonAccessLog::close);
        if (telemetry.tracer() instanceof OtlpHopTracer otlp) {
            otlp.close();
        }
    }
}
