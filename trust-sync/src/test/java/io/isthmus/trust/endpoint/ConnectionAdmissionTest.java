package io.isthmus.trust.endpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.trust.endpoint.ConnectionAdmission.Reason;
import io.isthmus.trust.endpoint.ConnectionAdmission.Verdict;

/** One more connection at the bundle endpoint, by the counts it holds open: one row per rule, default limits 16/1,024. */
class ConnectionAdmissionTest {
    private static final ConnectionLimits LIMITS = ConnectionLimits.DEFAULTS;

    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of("a client's first connection", "10.0.0.5", 0, 0, null, null),
                Arguments.of("a client's 16th connection", "10.0.0.5", 15, 300, null, null),
                Arguments.of("a client's 17th connection", "10.0.0.5", 16, 300, Reason.PER_CLIENT,
                        "10.0.0.5 holds 16 open connections, the limit per client "
                                + "(isthmus.bundle-endpoint.max-connections-per-client=16)"),
                Arguments.of("an IPv6 client over its limit", "2001:db8::7", 16, 16, Reason.PER_CLIENT,
                        "2001:db8::7 holds 16 open connections"),
                Arguments.of("the 1,024th connection in all", "10.0.0.6", 0, 1023, null, null),
                Arguments.of("the 1,025th connection in all", "10.0.0.6", 0, 1024, Reason.TOTAL,
                        "the listener holds 1024 open connections, its limit (isthmus.bundle-endpoint.max-connections="
                                + "1024); refused 10.0.0.6"),
                Arguments.of("over both: the client's own limit is named", "10.0.0.5", 16, 1024, Reason.PER_CLIENT,
                        "limit per client"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void decides(String row, String client, int fromClient, int total, Reason refused, String detail) {
        assertDecided(ConnectionAdmission.decide(client, fromClient, total, LIMITS), refused, detail);
    }

    private static void assertDecided(Verdict v, Reason refused, String detail) {
        if (refused == null) {
            assertThat(v).isEqualTo(new Verdict.Admit());
        } else {
            assertThat(v).isInstanceOfSatisfying(Verdict.Refused.class, r -> {
                assertThat(r.reason()).isEqualTo(refused);
                assertThat(r.detail()).contains(detail);
            });
        }
    }

    /** The data plane's listeners share the decision; the refusal names their own settings. */
    static Stream<Arguments> listenerRows() {
        ConnectionLimits ingress = new ConnectionLimits("isthmus.proxy.ingress", 512, 4096, Duration.ofMinutes(1));
        ConnectionLimits egress = new ConnectionLimits("isthmus.proxy.egress", 2048, 8192, Duration.ofMinutes(1));
        return Stream.of(
                Arguments.of("a peer gateway's 512th connection to the ingress", ingress, 511, 4000, null, null),
                Arguments.of("a peer gateway's 513th connection to the ingress", ingress, 512, 600, Reason.PER_CLIENT,
                        "10.0.0.5 holds 512 open connections, the limit per client "
                                + "(isthmus.proxy.ingress.max-connections-per-client=512)"),
                Arguments.of("the ingress full", ingress, 3, 4096, Reason.TOTAL,
                        "the listener holds 4096 open connections, its limit (isthmus.proxy.ingress.max-connections="
                                + "4096); refused 10.0.0.5"),
                Arguments.of("a node address with 2,047 at the egress", egress, 2047, 2047, null, null),
                Arguments.of("a node address with 2,048 at the egress", egress, 2048, 2048, Reason.PER_CLIENT,
                        "(isthmus.proxy.egress.max-connections-per-client=2048)"),
                Arguments.of("the egress full", egress, 0, 8192, Reason.TOTAL,
                        "(isthmus.proxy.egress.max-connections=8192)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("listenerRows")
    void decidesForAListener(String row, ConnectionLimits limits, int fromClient, int total, Reason refused,
            String detail) {
        assertDecided(ConnectionAdmission.decide("10.0.0.5", fromClient, total, limits), refused, detail);
    }

    @Test
    void countsThatCannotBeAreABug() {
        assertThatThrownBy(() -> ConnectionAdmission.decide("10.0.0.5", -1, 0, LIMITS))
                .hasMessageContaining("open connections -1 from 10.0.0.5 of 0 in all");
        assertThatThrownBy(() -> ConnectionAdmission.decide("10.0.0.5", 3, 2, LIMITS))
                .hasMessageContaining("expected 0 <= from-client <= total");
    }

    @Test
    void limitsNameTheSettingThatIsWrong() {
        assertThatThrownBy(() -> new ConnectionLimits(0, 10, Duration.ofMinutes(1)))
                .hasMessage("isthmus.bundle-endpoint.max-connections-per-client is 0, expected 1 or more");
        assertThatThrownBy(() -> new ConnectionLimits(16, 8, Duration.ofMinutes(1)))
                .hasMessage("isthmus.bundle-endpoint.max-connections is 8, expected at least "
                        + "max-connections-per-client (16)");
        assertThatThrownBy(() -> new ConnectionLimits(16, 1024, Duration.ZERO))
                .hasMessageContaining("expected a positive duration");
        assertThat(new ConnectionLimits(1, 1, Duration.ofSeconds(1)).perClient()).isEqualTo(1);
        assertThatThrownBy(() -> new ConnectionLimits("isthmus.proxy.egress", 0, 8192, Duration.ofMinutes(1)))
                .hasMessage("isthmus.proxy.egress.max-connections-per-client is 0, expected 1 or more");
        assertThatThrownBy(() -> new ConnectionLimits("isthmus.proxy.ingress", 512, 100, Duration.ofMinutes(1)))
                .hasMessage("isthmus.proxy.ingress.max-connections is 100, expected at least "
                        + "max-connections-per-client (512)");
    }
}
