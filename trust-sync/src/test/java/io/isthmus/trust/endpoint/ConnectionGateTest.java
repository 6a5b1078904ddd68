package io.isthmus.trust.endpoint;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.isthmus.trust.testing.MutableClock;

class ConnectionGateTest {
    /**
     * An attacker who holds the endpoint full and then connects from ever new addresses (an IPv6 prefix gives plenty)
     * is refused every time; the gate must not remember a warning per address without bound.
     */
    @Test
    void refusalsFromManyAddressesWithinOneIntervalDoNotGrowTheWarningMemoryWithoutBound() {
        MutableClock clock = MutableClock.now();
        ConnectionGate gate = new ConnectionGate(new ConnectionLimits(1, 1, Duration.ofMinutes(1)), clock, "test");
        assertThat(gate.open("2001:db8::1")).isInstanceOf(ConnectionAdmission.Verdict.Admit.class);
        for (int i = 2; i < 20_000; i++) {
            assertThat(gate.open("2001:db8::" + Integer.toHexString(i)))
                    .isInstanceOf(ConnectionAdmission.Verdict.Refused.class);
        }
        assertThat(gate.refused()).isEqualTo(19_998);
        assertThat(gate.rememberedWarnings()).isLessThanOrEqualTo(4096);

        // Once the interval has passed, old warnings are forgotten and a new address is warned about again.
        clock.advance(Duration.ofMinutes(2));
        gate.open("2001:db8:1::1");
        assertThat(gate.rememberedWarnings()).isEqualTo(1);
    }
}
