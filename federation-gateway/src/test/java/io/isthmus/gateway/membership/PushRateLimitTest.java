package io.isthmus.gateway.membership;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;

import io.isthmus.gateway.enrolment.EnrolmentAudit;
import io.isthmus.gateway.enrolment.RateLimiter;
import io.isthmus.trust.membership.PushAdmission;
import io.isthmus.trust.testing.MutableClock;

/** Membership pushes per source: the burst, then 429 with a retry time; one audit line per limiting episode. */
class PushRateLimitTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-05T07:00:00Z"));
    private final EnrolmentAudit audit = new EnrolmentAudit(clock);
    private final PushRateLimit limit = new PushRateLimit(new RateLimiter.Limit(3, 60), clock, audit);

    @Test
    void aSourceGetsItsBurstThenWaitsAndOnlyItsFirstRefusalIsAudited() {
        for (int i = 0; i < 3; i++) {
            assertThat(limit.admit("192.0.2.9")).isInstanceOf(PushAdmission.Admitted.class);
        }
        for (int i = 0; i < 100; i++) {
            assertThat(limit.admit("192.0.2.9")).isInstanceOfSatisfying(PushAdmission.Limited.class, l -> {
                assertThat(l.retryAfter()).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(1));
                assertThat(l.detail()).contains("192.0.2.9", "isthmus.federation.push-rate-limit");
            });
        }
        assertThat(audit.recent()).singleElement().asString().contains("\"action\":\"federation.membership.push\"",
                "\"decision\":\"deny\"", "\"code\":\"rate-limited\"", "\"source\":\"192.0.2.9\"");
        assertThat(limit.admit("198.51.100.1")).as("another source has its own bucket")
                .isInstanceOf(PushAdmission.Admitted.class);
        clock.advance(Duration.ofSeconds(1));
        assertThat(limit.admit("192.0.2.9")).isInstanceOf(PushAdmission.Admitted.class);
        assertThat(limit.admit("192.0.2.9")).isInstanceOf(PushAdmission.Limited.class);
        assertThat(audit.recent()).as("a new episode after an admitted push is audited again").hasSize(2);
    }
}
