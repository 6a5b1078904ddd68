package io.isthmus.gateway.telemetry;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;

/**
 * Removes every meter when the application stops. The meters outlive the application in the JVM: with two
 * {@code federation-gateway} test JVMs, the second application started in one of them served, on its
 * {@code /q/metrics}, the {@code isthmus_registry_*} gauges the first had registered, still bound to the stopped
 * application's beans, so every one read NaN ("Could not find a mapping for RegistryConfig"). Registering a gauge
 * under a name that exists returns the existing one, so the new application's own registration changed nothing.
 * Dev mode's live reload also starts a second application in the same JVM. Observed last, after the observers that
 * may still count something on the way down.
 */
@ApplicationScoped
public class MetersAtShutdown {
    @Inject
    MeterRegistry meters;

    void clear(@Observes @Priority(Integer.MAX_VALUE) ShutdownEvent stop) {
        meters.clear();
    }
}
