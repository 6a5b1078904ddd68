package io.isthmus.gateway.jwt.rotation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.gateway.jwt.rotation.RepeatedStep.Verdict;
import io.isthmus.trust.spiffe.TrustDomain;

/** A step asked again while a replica applies it: written again only once its signer has expired. */
class RepeatedStepTest {
    private static final Instant NOW = Instant.parse("2026-12-05T16:00:00Z");
    private static final JwtRotationRecord HELD = new JwtRotationRecord(new TrustDomain("a.test"), 4,
            JwtRotationRecord.Step.ACTIVATE, 3, "admin", NOW.minusSeconds(30), "r0");

    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of("signer valid for an hour more (the CLI polling activate)", NOW.plus(Duration.ofHours(1)),
                        new Verdict.Hold(HELD)),
                Arguments.of("signer valid for 1 ms more", NOW.plusMillis(1), new Verdict.Hold(HELD)),
                Arguments.of("signer expires exactly now: still valid", NOW, new Verdict.Hold(HELD)),
                Arguments.of("signer expired 1 ms ago", NOW.minusMillis(1), new Verdict.RecordAgain(HELD,
                        NOW.minusMillis(1))),
                Arguments.of("signer expired an hour ago (a replica away longer than an SVID's life)",
                        NOW.minus(Duration.ofHours(1)), new Verdict.RecordAgain(HELD, NOW.minus(Duration.ofHours(1)))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void decides(String row, Instant signerNotAfter, Verdict expected) {
        assertThat(RepeatedStep.decide(HELD, signerNotAfter, NOW)).isEqualTo(expected);
    }

    @Test
    void needsTheHeldRecordAndItsSignersExpiry() {
        assertThatThrownBy(() -> RepeatedStep.decide(null, NOW, NOW)).hasMessage("current");
        assertThatThrownBy(() -> RepeatedStep.decide(HELD, null, NOW)).hasMessage("signerNotAfter");
    }
}
