package io.isthmus.proxy.outlier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/** The outlier detector as a clock-driven state machine: failures, ejection, probation, backoff, recovery. */
class OutlierDetectorTest {
    private final AtomicLong now = new AtomicLong(1_000);
    private final OutlierDetector detector = new OutlierDetector(
            new OutlierPolicy(3, Duration.ofSeconds(10), Duration.ofSeconds(35)), now::get);

    private void advance(Duration d) {
        now.addAndGet(d.toNanos());
    }

    @Test
    void aClusterIsEjectedAfterNFailedConnectsInARowAndOnlyThen() {
        assertThat(detector.connectFailed("b")).isEmpty();
        assertThat(detector.connectFailed("b")).isEmpty();
        assertThat(detector.ejected("b")).isFalse();
        assertThat(detector.connectFailed("b")).hasValueSatisfying(e -> {
            assertThat(e.duration()).isEqualTo(Duration.ofSeconds(10));
            assertThat(e.consecutiveFailures()).isEqualTo(3);
            assertThat(e.nth()).isEqualTo(1);
        });
        assertThat(detector.ejected("b")).isTrue();
        assertThat(detector.ejected("c")).as("others are not affected").isFalse();
    }

    @Test
    void itTracksAClusterFromItsFirstFailureUntilASuccessClearsIt() {
        assertThat(detector.tracksAny()).as("nothing failed yet").isFalse();
        detector.connectFailed("b");
        assertThat(detector.tracksAny()).as("one failure, below the threshold").isTrue();
        detector.connectSucceeded("c");
        assertThat(detector.tracksAny()).as("another cluster's success clears nothing of b's").isTrue();
        detector.connectFailed("b");
        detector.connectFailed("b");
        advance(Duration.ofSeconds(10));
        assertThat(detector.ejected("b")).isFalse();
        assertThat(detector.tracksAny()).as("on probation after the ejection").isTrue();
        detector.connectSucceeded("b");
        assertThat(detector.tracksAny()).as("a success forgot b").isFalse();
    }

    @Test
    void aSuccessInBetweenResetsTheCount() {
        detector.connectFailed("b");
        detector.connectFailed("b");
        detector.connectSucceeded("b");
        assertThat(detector.connectFailed("b")).isEmpty();
        assertThat(detector.connectFailed("b")).isEmpty();
        assertThat(detector.ejected("b")).isFalse();
    }

    @Test
    void theEjectionEndsAfterItsBackoffThenOneFailureEjectsAgainForTwiceAsLongUpToTheMaximum() {
        for (int i = 0; i < 3; i++) {
            detector.connectFailed("b");
        }
        advance(Duration.ofSeconds(9));
        assertThat(detector.ejected("b")).isTrue();
        advance(Duration.ofSeconds(1));
        assertThat(detector.ejected("b")).as("back on probation after 10 s").isFalse();
        assertThat(detector.connectFailed("b")).hasValueSatisfying(e -> {
            assertThat(e.duration()).isEqualTo(Duration.ofSeconds(20));
            assertThat(e.nth()).isEqualTo(2);
        });
        advance(Duration.ofSeconds(20));
        assertThat(detector.connectFailed("b")).hasValueSatisfying(e -> assertThat(e.duration())
                .isEqualTo(Duration.ofSeconds(35)));
        advance(Duration.ofSeconds(35));
        assertThat(detector.connectFailed("b")).hasValueSatisfying(e -> assertThat(e.duration())
                .isEqualTo(Duration.ofSeconds(35)));
    }

    @Test
    void aSuccessOnProbationForgetsEverything() {
        for (int i = 0; i < 3; i++) {
            detector.connectFailed("b");
        }
        advance(Duration.ofSeconds(10));
        detector.connectSucceeded("b");
        assertThat(detector.connectFailed("b")).isEmpty();
        assertThat(detector.connectFailed("b")).isEmpty();
        assertThat(detector.connectFailed("b")).hasValueSatisfying(e -> assertThat(e.nth()).isEqualTo(1));
    }

    @Test
    void failuresReportedWhileEjectedDoNotExtendIt() {
        for (int i = 0; i < 3; i++) {
            detector.connectFailed("b");
        }
        advance(Duration.ofSeconds(5));
        assertThat(detector.connectFailed("b")).as("a connect that started before the ejection").isEmpty();
        advance(Duration.ofSeconds(5));
        assertThat(detector.ejected("b")).isFalse();
    }

    @Test
    void thePolicyChecksItself() {
        assertThatThrownBy(() -> new OutlierPolicy(0, Duration.ofSeconds(1), Duration.ofSeconds(1)))
                .hasMessage("consecutiveFailures must be at least 1, was 0");
        assertThatThrownBy(() -> new OutlierPolicy(1, Duration.ZERO, Duration.ofSeconds(1)))
                .hasMessage("baseEjection must be positive, was PT0S");
        assertThatThrownBy(() -> new OutlierPolicy(1, Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .hasMessage("maxEjection PT1S is shorter than baseEjection PT2S");
        assertThat(new OutlierPolicy(1, Duration.ofSeconds(1), Duration.ofSeconds(5)).ejection(10))
                .isEqualTo(Duration.ofSeconds(5));
    }
}
