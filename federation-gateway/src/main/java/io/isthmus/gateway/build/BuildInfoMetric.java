package io.isthmus.gateway.build;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.isthmus.build.BuildInfo;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;

/**
 * {@code isthmus_build_info{version, commit} 1}: the Prometheus "info" idiom, so a dashboard can tell which build
 * each replica runs (mid-rollout, two builds answer) and join it onto any other series.
 */
@ApplicationScoped
public class BuildInfoMetric {
    @Inject
    MeterRegistry meters;

    void bind(@Observes StartupEvent start) {
        BuildInfo build = BuildInfo.current();
        Gauge.builder("isthmus_build_info", () -> 1)
                .description("The running build: version and git commit (value always 1)")
                .tag("version", build.version()).tag("commit", build.commit())
                .register(meters);
    }
}
