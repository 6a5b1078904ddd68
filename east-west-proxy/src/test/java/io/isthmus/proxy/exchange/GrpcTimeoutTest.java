package io.isthmus.proxy.exchange;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The grpc-timeout header ("gRPC over HTTP/2": TimeoutValue TimeoutUnit): parsed, refused by reason, re-written. */
class GrpcTimeoutTest {
    @ParameterizedTest(name = "{0} = {1} ns")
    @CsvSource({"1H, 3600000000000", "2M, 120000000000", "30S, 30000000000", "250m, 250000000", "100u, 100000",
            "7n, 7", "0m, 0", "99999999n, 99999999", "00000001S, 1000000000"})
    void parsesEveryUnit(String header, long nanos) throws Exception {
        assertThat(GrpcTimeout.parse(header)).contains(Duration.ofNanos(nanos));
    }

    @Test
    void anAbsentHeaderIsNoDeadline() throws Exception {
        assertThat(GrpcTimeout.parse(null)).isEmpty();
    }

    @ParameterizedTest(name = "''{0}'' {1}")
    @CsvSource(delimiter = '|', value = {"m|is too short", "|is too short", "123456789S|has more than 8 digits",
            "10s|has an unknown unit 's'", "10 m|has a non-digit ' ' in its value",
            "-1m|has a non-digit '-' in its value", "1.5S|has a non-digit '.' in its value",
            "10|has an unknown unit '0'", "1e3m|has a non-digit 'e' in its value"})
    void refusesWhatTheSpecDoesNotAllow(String header, String why) {
        String value = header == null ? "" : header;
        assertThatThrownBy(() -> GrpcTimeout.parse(value)).isInstanceOf(GrpcTimeout.InvalidGrpcTimeout.class)
                .hasMessage("grpc-timeout '" + value + "' " + why + ": expected 1 to 8 digits and a unit H, M, S, m, u "
                        + "or n (e.g. 250m)");
    }

    @ParameterizedTest(name = "{0} ns -> {1}")
    @CsvSource({"0, 0n", "1, 1n", "99999999, 99999999n", "100000000, 100000u", "100000001, 100001u",
            "250000000, 250000u", "99999999000000, 99999999m", "100000000000000, 100000S", "3600000000000000000, 60000000M", "9223372036854775807, 2562048H"})
    void formatsTheRemainderInTheFinestUnitThatFitsRoundingUp(long nanos, String header) throws Exception {
        assertThat(GrpcTimeout.format(Duration.ofNanos(nanos))).isEqualTo(header);
        // The next hop never gets less than what is left.
        assertThat(GrpcTimeout.parse(header).orElseThrow()).isGreaterThanOrEqualTo(Duration.ofNanos(nanos));
    }

    @Test
    void aNegativeRemainderIsZero() {
        assertThat(GrpcTimeout.format(Duration.ofMillis(-5))).isEqualTo("0n");
    }
}
