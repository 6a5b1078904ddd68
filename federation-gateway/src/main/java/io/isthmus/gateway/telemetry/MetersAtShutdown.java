package io.isthmus.gateway.telemetry;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;

/**
 * Removes every meter when the application stops. The registry Quarkus injects is Micrometer's global composite,
 * which outlives the application: when a second application starts in the same JVM (a test with another profile,
 * dev mode's live reload), registering a gauge under an existing name returns the old one, still bound to the stopped
 * application's beans. Every {@code isthmus_registry_*} gauge then read NaN ("Could not find a mapping for
 * RegistryConfig"), and counters went on from the old application's counts. Observed last, after the observers that
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
