package io.isthmus.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.attest.InvalidSelectorException;
import io.isthmus.agent.state.AgentState;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.TestCa;

/** How the agent starts with and without --registration-entries: off, on, or refused naming the file. */
class AttestationStartTest {
    private static final String VM = "spiffe://vm.test/ns/shop/sa/db-1";

    @TempDir
    Path dir;

    private AgentState state;

    @BeforeEach
    void state() {
        state = new AgentState(URI.create("https://127.0.0.1:1"), new TrustDomain("vm.test"),
                TestCa.svid(TestCa.create().intermediate("vm.test"), VM), BundleSet.of(List.of()));
    }

    private AgentCli.Extras extras(Optional<Path> entries) {
        return extras(entries, false);
    }

    private AgentCli.Extras extras(Optional<Path> entries, boolean gatewayEntries) {
        return new AgentCli.Extras(List.of(), Duration.ofSeconds(10), null, 0, "svc.clusterset.local", Optional.empty(),
                Duration.ofSeconds(30), Duration.ofSeconds(10), entries, gatewayEntries, Duration.ofSeconds(30));
    }

    @Test
    void withGatewayEntriesAttestationIsOnEvenWithoutAFileAndRefusesUntilEntriesCome() throws Exception {
        var attestation = AgentCli.attestation(extras(Optional.empty(), true), state);
        assertThat(attestation.enabled()).isTrue();
        assertThat(attestation.workloadIds(state.svid().id())).isEmpty();
        Path empty = Files.writeString(dir.resolve("empty.json"), "{\"entries\": []}");
        assertThat(AgentCli.attestation(extras(Optional.of(empty), true), state).enabled()).isTrue();
    }

    @Test
    void withoutEntriesAttestationIsOffAndEveryCallerIsTheVm() throws Exception {
        var attestation = AgentCli.attestation(extras(Optional.empty()), state);
        assertThat(attestation.enabled()).isFalse();
        assertThat(attestation.identitiesFor(null, state.svid().id())).containsExactly(SpiffeId.parse(VM));
    }

    @Test
    void withEntriesItIsOnAndNeedsSvidsForTheWorkloadIds() throws Exception {
        Path file = Files.writeString(dir.resolve("e.json"), "{\"entries\": [{\"spiffeId\": \"" + VM
                + "/billing\", \"selectors\": [\"unix:uid:1000\"]}, {\"spiffeId\": \"" + VM
                + "\", \"selectors\": [\"unix:uid:0\"]}]}");
        var attestation = AgentCli.attestation(extras(Optional.of(file)), state);
        assertThat(attestation.enabled()).isTrue();
        assertThat(attestation.workloadIds(state.svid().id())).containsExactly(SpiffeId.parse(VM + "/billing"));
        assertThat(attestation.identitiesFor(null, state.svid().id())).as("no peer credentials, no identity").isEmpty();
    }

    @Test
    void anEmptyOrBadFileFailsTheStart() throws Exception {
        Path empty = Files.writeString(dir.resolve("empty.json"), "{\"entries\": []}");
        assertThatThrownBy(() -> AgentCli.attestation(extras(Optional.of(empty)), state))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining(empty + " lists no entries")
                .hasMessageContaining("--gateway-entries");
        Path sibling = Files.writeString(dir.resolve("sibling.json"), "{\"entries\": [{\"spiffeId\": "
                + "\"spiffe://vm.test/ns/shop/sa/db-2/billing\", \"selectors\": [\"unix:uid:0\"]}]}");
        assertThatThrownBy(() -> AgentCli.attestation(extras(Optional.of(sibling)), state))
                .isInstanceOf(InvalidSelectorException.class).hasMessageContaining(sibling + " entry 0")
                .hasMessageContaining("outside this VM's path");
    }
}
