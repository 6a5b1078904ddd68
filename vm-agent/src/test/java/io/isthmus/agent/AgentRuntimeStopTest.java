package io.isthmus.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.agent.gateway.GatewayClient;
import io.isthmus.agent.state.AgentState;
import io.isthmus.agent.state.StateDir;
import io.isthmus.agent.testing.SilentGateway;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.LogCapture;
import io.isthmus.trust.testing.TestCa;

/**
 * Stopping the agent's runtime is not a failure. Before, close() interrupted a renewal in flight at once: the call to
 * the gateway failed with "interrupted", logged as a failed renewal (WARN, or ERROR once the SVID had expired); and
 * a stop with nothing in flight could not have waited for the next renewal either, hours away.
 */
class AgentRuntimeStopTest {
    private static final String VM = "spiffe://vm.test/ns/shop/sa/db-1";
    private static final TrustDomain TD = new TrustDomain("vm.test");

    @TempDir
    Path dir;

    @Test
    void aRenewalInFlightAtStopIsNotLoggedAsAFailure() throws Exception {
        // An SVID that expired an hour ago: its renewal starts at once, and a failure of it would be an ERROR.
        Clock twoHoursAgo = Clock.offset(Clock.systemUTC(), Duration.ofHours(-2));
        TestCa ca = TestCa.create(twoHoursAgo);
        AgentState expired = new AgentState(URI.create("https://gw.vm.test:15012"), TD,
                TestCa.svid(ca.intermediate("vm.test"), VM, twoHoursAgo), BundleSet.of(List.of()));
        assertThat(expired.svid().notAfter()).isBefore(Clock.systemUTC().instant());
        try (SilentGateway gateway = SilentGateway.start(); LogCapture log = LogCapture.of(AgentRuntime.class)) {
            AgentRuntime runtime = new AgentRuntime(expired, new StateDir(dir),
                    new GatewayClient(gateway.uri(), ca.roots(), TD, Clock.systemUTC()), Clock.systemUTC(),
                    AgentRuntime.defaultBackoff());
            runtime.start();
            assertThat(gateway.awaitCall(Duration.ofSeconds(10))).as("the renewal reached the gateway").isTrue();

            runtime.close();

            // The call ends when the stop interrupts it (the gateway never answers).
            log.assertStoppedQuietly("stopped: the agent is stopping");
        }
    }

    @Test
    void aStopWithNothingInFlightDoesNotWaitForTheNextRenewal() throws Exception {
        TestCa ca = TestCa.create();
        AgentState state = new AgentState(URI.create("https://gw.vm.test:15012"), TD,
                TestCa.svid(ca.intermediate("vm.test"), VM), BundleSet.of(List.of()));
        try (LogCapture log = LogCapture.of(AgentRuntime.class)) {
            // Nothing listens on port 1: the first trust refresh (within a second) fails at once and says so.
            AgentRuntime runtime = new AgentRuntime(state, new StateDir(dir),
                    new GatewayClient(URI.create("https://127.0.0.1:1"), ca.roots(), TD, Clock.systemUTC()),
                    Clock.systemUTC(), AgentRuntime.defaultBackoff());
            runtime.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> log.all().stream()
                    .anyMatch(r -> r.contains("fetching the gateway's trust failed")));

            long start = System.nanoTime();
            runtime.close();
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(took).as("the renewal due in half an hour and the next refresh are dropped, not waited for")
                    .isLessThan(AgentRuntime.STOP_GRACE.dividedBy(2));
        }
    }
}
