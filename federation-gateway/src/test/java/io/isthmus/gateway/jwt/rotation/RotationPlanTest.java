package io.isthmus.gateway.jwt.rotation;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.gateway.jwt.rotation.JwtRotationRecord.Step;
import io.isthmus.gateway.jwt.rotation.RotationPlan.Action;
import io.isthmus.gateway.jwt.rotation.RotationPlan.Progress;
import io.isthmus.trust.jwt.JwtKeyRing;
import io.isthmus.trust.jwt.JwtSigningKey;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * What a replica does next for the cluster's recorded step: one row per situation, including a replica that starts
 * or rejoins after steps it missed, and one restarted in the middle of a step.
 */
class RotationPlanTest {
    private static final Instant NOW = Instant.parse("2026-12-05T09:00:00Z");
    private static final Duration TTL = Duration.ofMinutes(5);
    private static final JwtSigningKey OLD = JwtSigningKey.generate();
    private static final JwtSigningKey NEW = JwtSigningKey.generate();
    private static final JwtKeyRing PLAIN = JwtKeyRing.of(OLD);
    private static final JwtKeyRing PREPARED = PLAIN.prepare(NEW);
    /** Activated just now: the old key retires until NOW + TTL. */
    private static final JwtKeyRing ACTIVATED = PREPARED.activate(NOW, TTL);
    private static final JwtKeyRing ACTIVATED_LONG_AGO = PREPARED.activate(NOW.minus(TTL).minusSeconds(1), TTL);
    private static final Function<String, Optional<String>> FEDERATED = kid -> Optional.empty();
    private static final Function<String, Optional<String>> NOT_FEDERATED = kid -> Optional.of("peer b.test has not "
            + "confirmed it");

    private static JwtRotationRecord record(long generation, Step step, long keyGeneration) {
        return new JwtRotationRecord(new TrustDomain("a.test"), generation, step, keyGeneration, "admin", NOW, "r0");
    }

    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of("prepare, not applied: make a key", new Progress(0, 0), PLAIN, record(1, Step.PREPARE, 1),
                        FEDERATED, new Action.Prepare()),
                Arguments.of("prepare, key made, crashed before marking", new Progress(0, 0), PREPARED,
                        record(1, Step.PREPARE, 1), FEDERATED, new Action.MarkApplied(1)),
                Arguments.of("prepare applied already", new Progress(1, 0), PREPARED, record(1, Step.PREPARE, 1),
                        FEDERATED, new Action.Done()),
                Arguments.of("activate, own key federated", new Progress(1, 0), PREPARED, record(2, Step.ACTIVATE, 1),
                        FEDERATED, new Action.Activate(1)),
                Arguments.of("activate, own key not federated yet: wait", new Progress(1, 0), PREPARED,
                        record(2, Step.ACTIVATE, 1), NOT_FEDERATED, new Action.Wait("its prepared key " + NEW.keyId()
                                + " waits to be federated: peer b.test has not confirmed it")),
                Arguments.of("activate, done, crashed before marking", new Progress(1, 1), ACTIVATED,
                        record(2, Step.ACTIVATE, 1), FEDERATED, new Action.MarkApplied(2)),
                Arguments.of("activate, missed the prepare (down, or new): make a key first", new Progress(0, 0),
                        PLAIN, record(2, Step.ACTIVATE, 1), FEDERATED, new Action.Prepare()),
                Arguments.of("activate, a key made at this start counts as current", new Progress(0, 1), PLAIN,
                        record(2, Step.ACTIVATE, 1), FEDERATED, new Action.MarkApplied(2)),
                Arguments.of("retire, missed the activate: activate first", new Progress(1, 0), PREPARED,
                        record(3, Step.RETIRE, 1), FEDERATED, new Action.Activate(1)),
                Arguments.of("retire, old key due", new Progress(2, 1), ACTIVATED_LONG_AGO, record(3, Step.RETIRE, 1),
                        FEDERATED, new Action.Retire(List.of(OLD.keyId()))),
                Arguments.of("retire, old key's tokens may live (a late activation here): wait", new Progress(2, 1),
                        ACTIVATED, record(3, Step.RETIRE, 1), FEDERATED, new Action.Wait("its retiring key "
                                + OLD.keyId() + " may have signed live tokens until " + NOW.plus(TTL)
                                + "; it leaves then")),
                Arguments.of("retire, nothing left", new Progress(2, 1), ACTIVATED_LONG_AGO.retire(OLD.keyId(), NOW),
                        record(3, Step.RETIRE, 1), FEDERATED, new Action.MarkApplied(3)),
                Arguments.of("retire after a prepare never activates the prepared key", new Progress(3, 1),
                        ACTIVATED_LONG_AGO.retire(OLD.keyId(), NOW).prepare(JwtSigningKey.generate()),
                        record(5, Step.RETIRE, 0), FEDERATED, new Action.MarkApplied(5)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void decidesTheNextAction(String row, Progress progress, JwtKeyRing ring, JwtRotationRecord record,
            Function<String, Optional<String>> federated, Action expected) {
        assertThat(RotationPlan.next(progress, ring, record, federated, NOW)).isEqualTo(expected);
    }
}
