package io.isthmus.proxy.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.proxy.exchange.RetryPolicy.Failure;
import io.isthmus.proxy.exchange.RetryPolicy.Progress;
import io.isthmus.proxy.exchange.RetryPolicy.Verdict;

/** When a failed attempt may be repeated elsewhere (RFC 9110 section 9.2.2, RFC 9113 section 8.7): the table. */
class RetryPolicyTest {
    static Stream<Arguments> table() {
        return Stream.of(
                // Nothing reached the upstream: any request, body or not.
                row("POST", true, false, false, Failure.CONNECT_FAILED, true, "nothing was processed"),
                row("POST", true, false, false, Failure.WRONG_PEER, true, "wrong-peer"),
                row("PATCH", false, false, false, Failure.NOT_WRITTEN, false, "streamed and is gone"),
                row("POST", true, false, false, Failure.REFUSED_UNPROCESSED, true, "refused-unprocessed"),
                row("POST", false, false, false, Failure.REFUSED_UNPROCESSED, false, "streamed and is gone"),
                row("POST", true, false, false, Failure.GOAWAY_UNPROCESSED, true, "goaway-unprocessed"),
                row("POST", false, false, false, Failure.GOAWAY_UNPROCESSED, false, "streamed and is gone"),
                row("GET", true, true, false, Failure.CONNECT_FAILED, true, "nothing was processed"),
                // Sent, then lost: only an idempotent method the gateway still holds whole.
                row("GET", true, false, false, Failure.CONNECTION_LOST, true, "idempotent"),
                row("GET", true, false, false, Failure.DRAINED, true, "idempotent"),
                row("POST", true, false, false, Failure.DRAINED, false, "POST is not idempotent"),
                row("GET", true, false, true, Failure.DRAINED, false, "already begun"),
                row("HEAD", true, false, false, Failure.RESET, true, "idempotent"),
                row("PUT", true, false, false, Failure.CONNECTION_LOST, true, "idempotent"),
                row("DELETE", true, false, false, Failure.CONNECTION_LOST, true, "idempotent"),
                row("OPTIONS", true, false, false, Failure.RESET, true, "idempotent"),
                row("PUT", false, false, false, Failure.CONNECTION_LOST, false, "streamed and is gone"),
                row("POST", true, false, false, Failure.CONNECTION_LOST, false, "POST is not idempotent"),
                row("PATCH", true, false, false, Failure.RESET, false, "PATCH is not idempotent"),
                row("CONNECT", true, true, false, Failure.CONNECTION_LOST, false, "protocol switch"),
                row("GET", true, true, false, Failure.RESET, false, "protocol switch"),
                // Never after a timeout, never once a response began.
                row("GET", true, false, false, Failure.TIMEOUT, false, "still be processing"),
                row("GET", true, false, true, Failure.CONNECTION_LOST, false, "already begun"),
                row("GET", true, false, true, Failure.CONNECT_FAILED, false, "already begun"),
                row("POST", true, false, true, Failure.REFUSED_UNPROCESSED, false, "already begun"));
    }

    private static Arguments row(String method, boolean replayable, boolean protocolSwitch, boolean responseStarted,
            Failure failure, boolean retry, String reason) {
        return Arguments.of(method, replayable, protocolSwitch, responseStarted, failure, retry, reason);
    }

    @ParameterizedTest(name = "{0} replayable={1} switch={2} started={3} {4} -> retry={5}")
    @MethodSource("table")
    void decides(String method, boolean replayable, boolean protocolSwitch, boolean responseStarted, Failure failure,
            boolean retry, String reason) {
        Verdict v = RetryPolicy.decide(new Progress(method, replayable, protocolSwitch, responseStarted), failure);
        assertThat(v).isInstanceOf(retry ? Verdict.Retry.class : Verdict.Final.class);
        assertThat(v.reason()).contains(reason);
    }
}
