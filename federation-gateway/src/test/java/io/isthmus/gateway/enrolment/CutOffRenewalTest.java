package io.isthmus.gateway.enrolment;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** What a replica cut off from the majority of its cluster's replicas may sign for a VM, and for how long. */
class CutOffRenewalTest {
    private static final Instant CUT = Instant.parse("2026-12-07T10:00:00Z");
    private static final Duration TTL = Duration.ofHours(1);
    private static final Duration GRACE = Duration.ofHours(1);

    static Stream<Arguments> rows() {
        return Stream.of(
                // Not cut off: the whole lifetime, whatever the grace.
                Arguments.of("not cut off", null, CUT, GRACE, TTL, TTL),
                Arguments.of("not cut off, no grace", null, CUT, Duration.ZERO, TTL, TTL),
                // Cut off: signs until the grace ends, never past it.
                Arguments.of("just cut off", CUT, CUT, GRACE, TTL, TTL),
                Arguments.of("cut off 10 minutes ago", CUT, CUT.plus(Duration.ofMinutes(10)), GRACE, TTL,
                        Duration.ofMinutes(50)),
                Arguments.of("grace longer than the lifetime", CUT, CUT.plus(Duration.ofMinutes(10)),
                        Duration.ofHours(3), TTL, TTL),
                Arguments.of("grace longer than the lifetime, near its end", CUT, CUT.plus(Duration.ofMinutes(150)),
                        Duration.ofHours(3), TTL, Duration.ofMinutes(30)),
                Arguments.of("6 s left", CUT, CUT.plus(GRACE).minusSeconds(6), GRACE, TTL, Duration.ofSeconds(6)),
                Arguments.of("exactly the shortest lifetime left", CUT, CUT.plus(GRACE).minus(CutOffRenewal.SHORTEST),
                        GRACE, TTL, CutOffRenewal.SHORTEST),
                // Refused: too little left, the grace over, or no grace at all.
                Arguments.of("4 s left", CUT, CUT.plus(GRACE).minusSeconds(4), GRACE, TTL, null),
                Arguments.of("the grace just over", CUT, CUT.plus(GRACE), GRACE, TTL, null),
                Arguments.of("a day after the cut", CUT, CUT.plus(Duration.ofDays(1)), GRACE, TTL, null),
                Arguments.of("no grace", CUT, CUT, Duration.ZERO, TTL, null),
                // A clock that stepped back past the cut: still only up to the end of the grace.
                Arguments.of("now before the cut", CUT, CUT.minusSeconds(30), GRACE, TTL, TTL),
                Arguments.of("now before the cut, short grace", CUT, CUT.minusSeconds(30), Duration.ofMinutes(1), TTL,
                        Duration.ofSeconds(90)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void decides(String name, Instant cutOffSince, Instant now, Duration grace, Duration ttl, Duration expected) {
        CutOffRenewal.Verdict v = CutOffRenewal.decide(now, Optional.ofNullable(cutOffSince), grace, ttl);
        if (expected == null) {
            assertThat(v).isInstanceOfSatisfying(CutOffRenewal.Refuse.class, r -> assertThat(r.message())
                    .contains("since " + cutOffSince).contains("isthmus.enrolment.cut-off-grace = " + grace)
                    .contains("renew at another replica"));
        } else {
            assertThat(v).isEqualTo(new CutOffRenewal.Sign(expected));
            assertThat(now.plus(((CutOffRenewal.Sign) v).ttl()))
                    .as("what is signed never outlives the grace").isBeforeOrEqualTo(
                            cutOffSince == null ? now.plus(ttl) : cutOffSince.plus(grace));
        }
    }
}
