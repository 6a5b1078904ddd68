package io.isthmus.gateway.enrolment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;

import io.isthmus.trust.testing.MutableClock;

class RateLimiterTest {

    @Test
    void allowsABurstThenRefusesWithRetryAfterUntilTheBucketRefills() {
        MutableClock clock = new MutableClock(Instant.parse("2026-11-23T10:00:00Z"));
        RateLimiter limiter = new RateLimiter(3, 6, clock);
        for (int i = 0; i < 3; i++) {
            assertThat(limiter.tryAcquire("10.0.0.1").allowed()).isTrue();
        }
        RateLimiter.Decision refused = limiter.tryAcquire("10.0.0.1");
        assertThat(refused.allowed()).isFalse();
        assertThat(refused.retryAfter()).isBetween(Duration.ofSeconds(9), Duration.ofSeconds(10));
        assertThat(limiter.tryAcquire("10.0.0.2").allowed()).as("other sources have their own bucket").isTrue();
        clock.advance(Duration.ofSeconds(10));
        assertThat(limiter.tryAcquire("10.0.0.1").allowed()).isTrue();
        assertThat(limiter.tryAcquire("10.0.0.1").allowed()).isFalse();
    }

    @Test
    void refusesNonsenseLimits() {
        assertThatThrownBy(() -> new RateLimiter(0, 1, new MutableClock(Instant.EPOCH))).hasMessageContaining("at least 1");
    }
}
