package io.isthmus.registry.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.registry.kubernetes.OwnLease.Seen;
import io.isthmus.registry.kubernetes.OwnLease.Verdict;

/** The table of what a replica makes of the Lease it finds before standing (valid and invalid rows). */
class OwnLeaseTest {
    private static final String ME = "gw-host:/var/lib/isthmus";
    private static final Instant NOW = Instant.parse("2026-12-05T06:00:00Z");
    private static final Duration LEASE = Duration.ofSeconds(15);

    private static Optional<Seen> lease(String holder, Instant renewed) {
        return Optional.of(new Seen(holder, Optional.ofNullable(renewed), Optional.empty()));
    }

    private static Optional<Seen> released(String holder, Instant at) {
        return Optional.of(new Seen(holder, Optional.of(at), Optional.of(Duration.ofSeconds(1))));
    }

    static Stream<Arguments> rows() {
        Instant fresh = NOW.minusSeconds(3);
        Optional<Optional<Seen>> notWatched = Optional.empty();
        return Stream.of(
                Arguments.of("no Lease yet", Optional.empty(), notWatched, Verdict.FREE),
                Arguments.of("released (empty holder)", lease("", fresh), notWatched, Verdict.FREE),
                Arguments.of("released (null holder)", lease(null, fresh), notWatched, Verdict.FREE),
                Arguments.of("another replica", lease("gw-other:/var/lib/isthmus", fresh), notWatched,
                        Verdict.HELD_BY_OTHER),
                Arguments.of("own, lapsed", lease(ME, NOW.minus(LEASE).minusMillis(1)), notWatched, Verdict.OWN_LAPSED),
                Arguments.of("own, lapsing right now", lease(ME, NOW.minus(LEASE)), notWatched, Verdict.OWN_LAPSED),
                Arguments.of("own, never renewed", lease(ME, null), notWatched, Verdict.OWN_LAPSED),
                Arguments.of("own, released 2 s ago (fabric8 keeps the holder, lease 1 s)", released(ME, NOW.minusSeconds(2)),
                        notWatched, Verdict.OWN_LAPSED),
                Arguments.of("own, released just now (still 1 s to run)", released(ME, NOW.minusMillis(200)),
                        notWatched, Verdict.WATCH),
                Arguments.of("own, valid: watch first", lease(ME, fresh), notWatched, Verdict.WATCH),
                Arguments.of("own, valid, unchanged while watched", lease(ME, fresh), Optional.of(lease(ME, fresh)),
                        Verdict.OWN_PREDECESSOR),
                Arguments.of("own, renewed while watched", lease(ME, fresh),
                        Optional.of(lease(ME, fresh.plusSeconds(2))), Verdict.LIVE_TWIN),
                Arguments.of("own, taken by another while watched", lease(ME, fresh),
                        Optional.of(lease("gw-other:/var/lib/isthmus", NOW)), Verdict.HELD_BY_OTHER),
                Arguments.of("own, released while watched", lease(ME, fresh), Optional.of(lease("", NOW)), Verdict.FREE),
                Arguments.of("own, deleted while watched", lease(ME, fresh), Optional.of(Optional.<Seen>empty()),
                        Verdict.FREE),
                // A prefix or a case variant is another identity, not ours.
                Arguments.of("a longer identity", lease(ME + "-2", fresh), notWatched, Verdict.HELD_BY_OTHER),
                Arguments.of("another case", lease(ME.toUpperCase(), fresh), notWatched, Verdict.HELD_BY_OTHER));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void judgesTheLeaseFoundUnderItsOwnIdentity(String row, Optional<Seen> first, Optional<Optional<Seen>> again,
            Verdict expected) {
        assertThat(OwnLease.judge(first, again, ME, NOW, LEASE)).isEqualTo(expected);
    }

    @Test
    void watchesLongerThanOneRenewalPeriod() {
        assertThat(OwnLease.watchFor(Duration.ofSeconds(2))).isEqualTo(Duration.ofMillis(3000));
    }
}
