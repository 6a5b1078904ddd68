package io.isthmus.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class BackoffTest {
    private final Backoff noJitterMax = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), () -> 0.999999);
    private final Backoff halfJitter = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), () -> 0.0);

    @ParameterizedTest
    @CsvSource({"0, 1000", "1, 2000", "2, 4000", "5, 32000", "6, 60000", "40, 60000"})
    void doublesUpToTheCap(int attempt, long expectedMillis) {
        assertThat(noJitterMax.delay(attempt).toMillis()).isBetween(expectedMillis - 1, expectedMillis);
        assertThat(halfJitter.delay(attempt).toMillis()).isEqualTo(expectedMillis / 2);
    }

    @Test
    void refusesNonsense() {
        assertThatThrownBy(() -> new Backoff(Duration.ZERO, Duration.ofSeconds(1), () -> 0)).hasMessageContaining("0 < initial");
        assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1), () -> 0))
                .hasMessageContaining("initial <= max");
    }
}
