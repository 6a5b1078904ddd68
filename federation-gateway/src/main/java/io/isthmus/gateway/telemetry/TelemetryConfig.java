package io.isthmus.gateway.telemetry;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/** Cluster-aware telemetry of the data plane (prefix {@code isthmus.telemetry}): access log, metric labels, spans. */
@ConfigMapping(prefix = "isthmus.telemetry")
public interface TelemetryConfig {

    /** OpenTelemetry span export; off unless an endpoint is set. */
    Otlp otlp();

    /** The JSON access log, one line per request and per tunnel. */
    @WithName("access-log")
    AccessLog accessLog();

    /**
     * Distinct {@code destination_service} label values before further mesh names are counted as {@code other}: the
     * bound on request series per gateway (see {@code io.isthmus.proxy.telemetry.RequestLabels}).
     */
    @WithName("max-service-labels")
    @WithDefault("500")
    int maxServiceLabels();

    interface Otlp {
        /** The collector's OTLP/HTTP traces URL, e.g. {@code http://otel-collector:4318/v1/traces}. Unset: no spans. */
        Optional<URI> endpoint();

        /** Fraction of new traces sampled; a caller's sampled flag always decides for its own trace. */
        @WithName("sampling-ratio")
        @WithDefault("1.0")
        double samplingRatio();

        /** How long one export may take before it is abandoned (spans are dropped, traffic never waits). */
        @WithDefault("10s")
        Duration timeout();
    }

    interface AccessLog {
        /** Whether to write it at all. */
        @WithDefault("true")
        boolean enabled();

        /** A file to append lines to; unset: the log category {@code isthmus.access}. */
        Optional<Path> path();

        /** Lines that may wait for the writer before new ones are dropped (and counted). */
        @WithName("queue-capacity")
        @WithDefault("8192")
        int queueCapacity();
    }
}
