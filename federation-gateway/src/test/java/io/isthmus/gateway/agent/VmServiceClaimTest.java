package io.isthmus.gateway.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.registry.Protocol;
import io.isthmus.trust.spiffe.SpiffeId;

/** {@link VmServiceClaim}: which VM may hold a service name of its namespace, and whose export a VM may remove. */
class VmServiceClaimTest {
    private static final Instant NOW = Instant.parse("2026-12-07T02:00:00Z");
    private static final SpiffeId VM = SpiffeId.parse("spiffe://a.test/ns/bank/sa/batch-vm");
    private static final SpiffeId OTHER_VM = SpiffeId.parse("spiffe://a.test/ns/bank/sa/other-vm");
    private static final SpiffeId PODS = SpiffeId.parse("spiffe://a.test/ns/bank/sa/ledger");

    private static Optional<VmServiceRecord> held(SpiffeId owner, long secondsLeft) {
        return Optional.of(new VmServiceRecord("bank", "ledger", 80, Protocol.HTTP, "10.0.0.7", 8080, owner,
                NOW.plusSeconds(secondsLeft)));
    }

    private static Optional<List<SpiffeId>> exported(SpiffeId... ids) {
        return Optional.of(List.of(ids));
    }

    static Stream<Arguments> registrations() {
        Optional<List<SpiffeId>> none = Optional.empty();
        return Stream.of(
                Arguments.of("a free name", none, Optional.empty(), "allowed"),
                Arguments.of("the VM's own heartbeat", exported(VM), held(VM, 30), "allowed"),
                Arguments.of("the VM again after its registration lapsed, not yet swept", exported(VM), held(VM, -5),
                        "allowed"),
                Arguments.of("a name Kubernetes exports", exported(PODS), Optional.empty(), "exported-by-another-source"),
                Arguments.of("a name Kubernetes exports with several identities, one of them the VM's",
                        exported(VM, PODS), Optional.empty(), "exported-by-another-source"),
                Arguments.of("a name exported with the VM's own identity but registered by no VM (static configuration)",
                        exported(VM), Optional.empty(), "exported-by-another-source"),
                Arguments.of("the VM's registration, but Kubernetes exported the name since",
                        exported(PODS), held(VM, 30), "exported-by-another-source"),
                Arguments.of("another VM's live registration", exported(OTHER_VM), held(OTHER_VM, 30),
                        "owned-by-another-vm"),
                Arguments.of("another VM's lapsed registration", exported(OTHER_VM), held(OTHER_VM, -1), "allowed"),
                Arguments.of("another VM's live registration whose export is gone", none, held(OTHER_VM, 30),
                        "owned-by-another-vm"),
                Arguments.of("the VM's registration whose export is gone", none, held(VM, 30), "allowed"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("registrations")
    void decidesARegistration(String row, Optional<List<SpiffeId>> exported, Optional<VmServiceRecord> registration,
            String expected) {
        VmServiceClaim.Verdict v = VmServiceClaim.register("bank/ledger", exported, registration, VM, NOW);
        String got = v instanceof VmServiceClaim.Refused r ? r.code().code() : "allowed";
        assertThat(got).isEqualTo(expected);
        if (v instanceof VmServiceClaim.Refused r) {
            assertThat(r.message()).startsWith("bank/ledger ");
        }
    }

    static Stream<Arguments> removals() {
        return Stream.of(
                Arguments.of("the VM's export", exported(VM), true),
                Arguments.of("Kubernetes exported the name since", exported(PODS), false),
                Arguments.of("several identities", exported(VM, PODS), false),
                Arguments.of("no export", Optional.empty(), false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("removals")
    void removesOnlyTheVmsOwnExport(String row, Optional<List<SpiffeId>> exported, boolean removed) {
        assertThat(VmServiceClaim.exportIsTheVms(exported, held(VM, 30).orElseThrow())).isEqualTo(removed);
    }
}
