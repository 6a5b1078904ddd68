package io.isthmus.gateway.jwt.rotation;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.gateway.jwt.rotation.ClusterStep.Refusal;
import io.isthmus.gateway.jwt.rotation.ClusterStep.Verdict;
import io.isthmus.gateway.jwt.rotation.JwtRotationRecord.Step;
import io.isthmus.trust.jwt.JwtKeyReadiness;
import io.isthmus.trust.spiffe.TrustDomain;

/** Whether a step may be recorded for the whole cluster: one row per rule, two replicas r0 and r1. */
class ClusterStepTest {
    private static final Instant NOW = Instant.parse("2026-12-05T09:00:00Z");
    private static final TrustDomain B = new TrustDomain("b.test");
    private static final Function<String, JwtKeyReadiness.Verdict> READY =
            kid -> new JwtKeyReadiness.Verdict.Ready(JwtKeyReadiness.Why.CONFIRMED_BY_EVERY_PEER);
    /** Peer b.test confirmed r0's new key, not yet r1's. */
    private static final Function<String, JwtKeyReadiness.Verdict> R1_NOT_YET = kid -> kid.equals("n1")
            ? new JwtKeyReadiness.Verdict.NotYet(kid, List.of(B), NOW.plusSeconds(300)) : READY.apply(kid);

    private static ReplicaRotation plain(long applied, String active) {
        return new ReplicaRotation(applied, active, Optional.empty(), List.of(), Optional.empty());
    }

    private static ReplicaRotation prepared(long applied, String active, String next) {
        return new ReplicaRotation(applied, active, Optional.of(next), List.of(), Optional.empty());
    }

    private static ReplicaRotation retiring(long applied, String active, String old, Instant until) {
        return new ReplicaRotation(applied, active, Optional.empty(), List.of(new ReplicaRotation.Retiring(old, until)),
                Optional.empty());
    }

    private static Optional<JwtRotationRecord> recorded(long generation, Step step, long keyGeneration) {
        return Optional.of(new JwtRotationRecord(new TrustDomain("a.test"), generation, step, keyGeneration, "admin",
                NOW, "r0"));
    }

    private static Map<String, Optional<ReplicaRotation>> replicas(ReplicaRotation r0, ReplicaRotation r1) {
        return Map.of("r0", Optional.of(r0), "r1", Optional.of(r1));
    }

    static Stream<Arguments> rows() {
        var none = Optional.<JwtRotationRecord>empty();
        var afterPrepare = recorded(1, Step.PREPARE, 1);
        var afterActivate = recorded(2, Step.ACTIVATE, 1);
        return Stream.of(
                Arguments.of("first prepare", Step.PREPARE, null, none, replicas(plain(0, "a0"), plain(0, "a1")),
                        READY, new Verdict.Record(Step.PREPARE, 1, 1), null, null),
                Arguments.of("prepare twice", Step.PREPARE, null, afterPrepare,
                        replicas(prepared(1, "a0", "n0"), prepared(1, "a1", "n1")), READY, null,
                        Refusal.ALREADY_PREPARED, "already prepared"),
                Arguments.of("prepare again when r1 missed it (its record was overwritten)", Step.PREPARE, null,
                        none, replicas(prepared(1, "a0", "n0"), plain(0, "a1")), READY,
                        new Verdict.Record(Step.PREPARE, 2, 2), null, null),
                Arguments.of("activate, both keys confirmed", Step.ACTIVATE, null, afterPrepare,
                        replicas(prepared(1, "a0", "n0"), prepared(1, "a1", "n1")), READY,
                        new Verdict.Record(Step.ACTIVATE, 2, 1), null, null),
                Arguments.of("activate, r1's key not confirmed by b.test", Step.ACTIVATE, null, afterPrepare,
                        replicas(prepared(1, "a0", "n0"), prepared(1, "a1", "n1")), R1_NOT_YET, null,
                        Refusal.NOT_FEDERATED, "replica r1's JWT key n1 is not yet known to federated peer(s) [b.test]"),
                Arguments.of("activate, r1 has not applied the prepare yet", Step.ACTIVATE, null, afterPrepare,
                        replicas(prepared(1, "a0", "n0"), plain(0, "a1")), READY, null, Refusal.STEP_IN_PROGRESS,
                        "{r1=applying it}"),
                Arguments.of("prepare again while r1 applies it: wait for it", Step.PREPARE, null, afterPrepare,
                        replicas(prepared(1, "a0", "n0"), plain(0, "a1")), READY,
                        new Verdict.Await(afterPrepare.get()), null, null),
                Arguments.of("activate with nothing prepared", Step.ACTIVATE, null, none,
                        replicas(plain(0, "a0"), plain(0, "a1")), READY, null, Refusal.NOTHING_PREPARED,
                        "no jwt key is prepared"),
                Arguments.of("retire too early", Step.RETIRE, "a0", afterActivate,
                        replicas(retiring(2, "n0", "a0", NOW.plusSeconds(1)), retiring(2, "n1", "a1", NOW)), READY,
                        null, Refusal.NOT_DUE, "jwt key a0 of replica r0 may still have signed live tokens until"),
                Arguments.of("retire once every old key's tokens expired", Step.RETIRE, "a0", afterActivate,
                        replicas(retiring(2, "n0", "a0", NOW), retiring(2, "n1", "a1", NOW)), READY,
                        new Verdict.Record(Step.RETIRE, 3, 1), null, null),
                Arguments.of("retire without naming a key", Step.RETIRE, null, afterActivate,
                        replicas(retiring(2, "n0", "a0", NOW), retiring(2, "n1", "a1", NOW)), READY,
                        new Verdict.Record(Step.RETIRE, 3, 1), null, null),
                Arguments.of("retire an active key", Step.RETIRE, "n1", afterActivate,
                        replicas(retiring(2, "n0", "a0", NOW), retiring(2, "n1", "a1", NOW)), READY, null,
                        Refusal.NOT_RETIRING, "active n1 cannot be retired"),
                Arguments.of("retire with nothing retiring", Step.RETIRE, null, none,
                        replicas(plain(0, "a0"), plain(0, "a1")), READY, null, Refusal.NOTHING_RETIRING,
                        "no jwt key is retiring"),
                Arguments.of("a replica of an older gateway", Step.PREPARE, null, none,
                        Map.of("r0", Optional.of(plain(0, "a0")), "r1", Optional.<ReplicaRotation>empty()), READY,
                        null, Refusal.OUTDATED_REPLICA, "[r1]"),
                Arguments.of("generation follows the highest a replica applied (record lost)", Step.PREPARE, null,
                        none, replicas(plain(7, "a0"), plain(6, "a1")), READY, new Verdict.Record(Step.PREPARE, 8, 8),
                        null, null));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void decides(String row, Step step, String kid, Optional<JwtRotationRecord> current,
            Map<String, Optional<ReplicaRotation>> replicas, Function<String, JwtKeyReadiness.Verdict> readiness,
            Verdict expected, Refusal refusal, String detail) {
        Verdict v = ClusterStep.decide(step, Optional.ofNullable(kid), current, replicas, readiness, NOW);
        if (expected != null) {
            assertThat(v).isEqualTo(expected);
        } else {
            assertThat(v).isInstanceOfSatisfying(Verdict.Refused.class, r -> {
                assertThat(r.refusal()).as(r.detail()).isEqualTo(refusal);
                assertThat(r.detail()).contains(detail);
            });
        }
    }
}
