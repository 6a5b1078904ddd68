package io.isthmus.gateway.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * Two applications one after the other in one JVM, sharing one registry that outlives the first, as the gateway's
 * meters did in a test JVM: the second application's gauge must read the second application's value.
 */
class MetersAtShutdownTest {
    @Test
    void aGaugeRegisteredAgainAfterAStopReadsTheNewApplication() {
        CompositeMeterRegistry shared = new CompositeMeterRegistry();
        AtomicLong first = new AtomicLong(7);
        AtomicLong second = new AtomicLong(42);

        shared.add(new SimpleMeterRegistry());
        Gauge.builder("isthmus_registry_entries", first, AtomicLong::get).register(shared);
        MetersAtShutdown stop = new MetersAtShutdown();
        stop.meters = shared;
        stop.clear(null);

        shared.add(new SimpleMeterRegistry());
        Gauge.builder("isthmus_registry_entries", second, AtomicLong::get).register(shared);
        assertThat(shared.get("isthmus_registry_entries").gauge().value()).isEqualTo(42.0);
    }

    @Test
    void withoutItTheFirstApplicationsGaugeStays() {
        CompositeMeterRegistry shared = new CompositeMeterRegistry();
        shared.add(new SimpleMeterRegistry());
        Gauge.builder("isthmus_registry_entries", new AtomicLong(7), AtomicLong::get).register(shared);
        Gauge.builder("isthmus_registry_entries", new AtomicLong(42), AtomicLong::get).register(shared);
        assertThat(shared.get("isthmus_registry_entries").gauge().value()).as("what the stopped application left")
                .isEqualTo(7.0);
    }
}
