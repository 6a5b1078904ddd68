package io.isthmus.gateway.rotation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.gateway.rotation.ReplicaGate.Allowed;
import io.isthmus.gateway.rotation.ReplicaGate.SeveralReplicas;
import io.isthmus.gateway.rotation.ReplicaGate.Step;
import io.isthmus.gateway.rotation.ReplicaGate.Verdict;

class ReplicaGateTest {
    private static final List<String> ALONE = List.of("alpha-r0-1");
    private static final List<String> TWO = List.of("alpha-r1-2", "alpha-r0-1");

    static Stream<Arguments> rows() {
        return Stream.of(
                // A lone replica (tests, bin/isthmus-local, a cluster scaled to one): every step, as before.
                Arguments.of(Step.PREPARE, ALONE, true),
                Arguments.of(Step.SIGN, ALONE, true),
                Arguments.of(Step.PUBLISH, ALONE, true),
                Arguments.of(Step.ACTIVATE, ALONE, true),
                Arguments.of(Step.RETIRE, ALONE, true),
                Arguments.of(Step.ABORT, ALONE, true),
                Arguments.of(Step.STATUS, ALONE, true),
                Arguments.of(Step.WAIT, ALONE, true),
                // A view that does not list this replica yet still counts it: alone.
                Arguments.of(Step.PREPARE, List.of(), true),
                // Two replicas: what starts or advances a rotation is refused; reading and cleaning up are not.
                Arguments.of(Step.PREPARE, TWO, false),
                Arguments.of(Step.SIGN, TWO, false),
                Arguments.of(Step.PUBLISH, TWO, false),
                Arguments.of(Step.ACTIVATE, TWO, false),
                Arguments.of(Step.STATUS, TWO, true),
                Arguments.of(Step.WAIT, TWO, true),
                Arguments.of(Step.ABORT, TWO, true),
                Arguments.of(Step.RETIRE, TWO, true),
                // Another replica in the view, this one not (yet) listed: still two.
                Arguments.of(Step.ACTIVATE, List.of("alpha-r1-2"), false),
                // Three replicas.
                Arguments.of(Step.PREPARE, List.of("alpha-r0-1", "alpha-r1-2", "alpha-r2-3"), false));
    }

    @ParameterizedTest(name = "{0} with view {1}: allowed {2}")
    @MethodSource("rows")
    void decides(Step step, List<String> view, boolean allowed) {
        Verdict v = ReplicaGate.decide(step, "alpha-r0-1", view);
        if (allowed) {
            assertThat(v).isEqualTo(new Allowed());
        } else {
            assertThat(v).isInstanceOf(SeveralReplicas.class);
        }
    }

    @Test
    void refusalNamesTheReplicasAndSaysWhatToDo() {
        SeveralReplicas r = (SeveralReplicas) ReplicaGate.decide(Step.PREPARE, "alpha-r0-1", TWO);
        assertThat(r.code()).isEqualTo("several-replicas");
        assertThat(r.replicas()).containsExactly("alpha-r0-1", "alpha-r1-2");
        assertThat(r.message()).contains("'prepare'").contains("2 gateway replicas [alpha-r0-1, alpha-r1-2]")
                .contains("this one is alpha-r0-1").contains("CA Secret/files").contains("scale the gateway to one replica")
                .contains("before scaling up again")
                .contains("abort");
    }

    @Test
    void aRefusalNeedsSeveralReplicas() {
        assertThatThrownBy(() -> new SeveralReplicas(Step.SIGN, "a", List.of("a")))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
