package io.isthmus.gateway.enrolment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** The pure decision behind the shared enrolment rate limit: a bucket as last written, the time, the verdict. */
class RateLimiterTest {
    private static final long S = 1_000_000_000L;
    private static final long T0 = 1_790_000_000L * S;
    /** 3 at once, then 6 a minute: one token every 10 s. */
    private static final RateLimiter.Limit LIMIT = new RateLimiter.Limit(3, 6);

    static Stream<Arguments> rows() {
        return Stream.of(
                // description, stored bucket (null: none), now, allowed, retry after (s), tokens left, bucket time
                Arguments.of("no bucket: a full burst, one spent", null, T0, true, 0.0, 2.0, T0),
                Arguments.of("one token left: spent", new RateLimiter.Bucket(1, T0), T0, true, 0.0, 0.0, T0),
                Arguments.of("empty: refused, 10 s to the next token", new RateLimiter.Bucket(0, T0), T0, false, 10.0, 0.0, T0),
                Arguments.of("empty 4 s ago: refused, 6 s to go", new RateLimiter.Bucket(0, T0), T0 + 4 * S, false, 6.0, 0.4,
                        T0 + 4 * S),
                Arguments.of("empty 10 s ago: one token refilled", new RateLimiter.Bucket(0, T0), T0 + 10 * S, true, 0.0,
                        0.0, T0 + 10 * S),
                Arguments.of("idle an hour: capped at the burst", new RateLimiter.Bucket(0, T0), T0 + 3600 * S, true, 0.0,
                        2.0, T0 + 3600 * S),
                Arguments.of("written by a replica 5 s ahead: no refill from skew, wait includes it",
                        new RateLimiter.Bucket(0, T0 + 5 * S), T0, false, 15.0, 0.0, T0 + 5 * S),
                Arguments.of("a replica 5 s ahead left a token: spent, bucket time kept",
                        new RateLimiter.Bucket(1, T0 + 5 * S), T0, true, 0.0, 0.0, T0 + 5 * S),
                Arguments.of("0.99 tokens is not a token", new RateLimiter.Bucket(0.99, T0), T0, false, 0.1, 0.99, T0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void decides(String description, RateLimiter.Bucket stored, long now, boolean allowed, double retryAfterSeconds,
            double tokensLeft, long bucketAt) {
        RateLimiter.Decision d = RateLimiter.decide(LIMIT, Optional.ofNullable(stored), now);
        assertThat(d.allowed()).isEqualTo(allowed);
        assertThat(d.retryAfter().toNanos() / 1e9).isCloseTo(retryAfterSeconds, org.assertj.core.data.Offset.offset(1e-6));
        assertThat(d.next().tokens()).isCloseTo(tokensLeft, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(d.next().atNanos()).isEqualTo(bucketAt);
    }

    @Test
    void aBurstThenRefusalsThenOneTokenPerRefillInterval() {
        Optional<RateLimiter.Bucket> b = Optional.empty();
        long now = T0;
        int allowed = 0;
        for (int i = 0; i < 5; i++) {
            RateLimiter.Decision d = RateLimiter.decide(LIMIT, b, now);
            allowed += d.allowed() ? 1 : 0;
            b = Optional.of(d.next());
        }
        assertThat(allowed).isEqualTo(3);
        now += 10 * S;
        assertThat(RateLimiter.decide(LIMIT, b, now).allowed()).isTrue();
    }

    @Test
    void bucketsRoundTripAndUnreadableOnesAreNamed() {
        RateLimiter.Bucket b = new RateLimiter.Bucket(2.5, T0);
        assertThat(RateLimiter.Bucket.decode(b.encode())).isEqualTo(b);
        for (String bad : new String[] {"", "2.5", "@1", "x@1", "1@x", "-1@5", "NaN@5", "Infinity@5"}) {
            assertThatThrownBy(() -> RateLimiter.Bucket.decode(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'" + bad + "'");
        }
        assertThat(new RateLimiter.Limit(3, 6).untilFull(0)).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void refusesNonsenseLimitsNamingTheKey() {
        assertThatThrownBy(() -> new RateLimiter.Limit(0, 1)).hasMessageContaining("isthmus.enrolment.rate-limit")
                .hasMessageContaining("at least 1");
        assertThatThrownBy(() -> new RateLimiter.Limit(1, 0)).hasMessageContaining("per-minute 0");
    }
}
