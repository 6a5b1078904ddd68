package io.isthmus.agent.workloadsvid;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.isthmus.agent.AgentRuntime;
import io.isthmus.agent.gateway.GatewayClient;
import io.isthmus.agent.state.AgentState;
import io.isthmus.agent.testing.SilentGateway;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.LogCapture;
import io.isthmus.trust.testing.TestCa;

/**
 * Stopping the workload SVIDs is not a failure. Before, close() interrupted a signing in flight at once: the call to
 * the gateway failed with "interrupted", logged as "the gateway did not sign it" at WARN.
 */
class WorkloadSvidsStopTest {
    private static final String VM = "spiffe://vm.test/ns/shop/sa/db-1";

    @Test
    void aSigningInFlightAtStopIsNotLoggedAsAFailure() throws Exception {
        TestCa ca = TestCa.create();
        AgentState agent = new AgentState(URI.create("https://gw.vm.test:15012"), new TrustDomain("vm.test"),
                TestCa.svid(ca.intermediate("vm.test"), VM), BundleSet.of(List.of()));
        try (SilentGateway gateway = SilentGateway.start(); LogCapture log = LogCapture.of(WorkloadSvids.class)) {
            WorkloadSvids workloads = new WorkloadSvids(Set.of(SpiffeId.parse(VM + "/web")), () -> agent,
                    new GatewayClient(gateway.uri(), ca.roots(), agent.trustDomain(), Clock.systemUTC()),
                    Clock.systemUTC(), AgentRuntime.defaultBackoff());
            workloads.start();
            assertThat(gateway.awaitCall(Duration.ofSeconds(10))).as("the signing reached the gateway").isTrue();

            workloads.close();

            // The call ends when the stop interrupts it (the gateway never answers).
            log.assertStoppedQuietly("signing stopped: the agent is stopping");
        }
    }
}
