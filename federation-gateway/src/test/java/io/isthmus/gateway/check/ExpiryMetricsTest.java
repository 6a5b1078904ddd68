package io.isthmus.gateway.check;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import org.junit.jupiter.api.Test;

/** The gateway's expiry metric as Prometheus text, with and without serials (both shapes are served). */
class ExpiryMetricsTest {
    @Test
    void readsTheTimeLeftPerKindAndPerSerial() {
        String text = """
                # HELP isthmus_cert_expiry_seconds Seconds until the certificate expires
                # TYPE isthmus_cert_expiry_seconds gauge
                isthmus_cert_expiry_seconds{kind="intermediate"} 172800.5
                isthmus_cert_expiry_seconds{kind="gateway-svid"} 1799.0
                isthmus_cert_expiry_seconds{kind="root",serial="0a:1b"} 8.64E7
                isthmus_cert_expiry_seconds{kind="root",serial="0c"} 100.0
                isthmus_requests_total{code="200"} 3.0
                """;
        var m = ExpiryMetrics.parse(text);
        assertThat(m.get("intermediate")).isEqualTo(Duration.ofMillis(172_800_500));
        assertThat(m.get("gateway-svid")).isEqualTo(Duration.ofSeconds(1799));
        assertThat(m.get("root/0a:1b")).isEqualTo(Duration.ofSeconds(86_400_000));
        assertThat(m.get("root")).as("the shortest of a kind").isEqualTo(Duration.ofSeconds(100));
        assertThat(m).doesNotContainKey("requests");
    }

    @Test
    void ignoresWhatItCannotRead() {
        assertThat(ExpiryMetrics.parse("isthmus_cert_expiry_seconds{kind=\"x\"} NaN\nisthmus_cert_expiry_seconds{} 5\n"
                + "isthmus_cert_expiry_seconds{kind=\"y\"} many\n")).isEmpty();
    }
}
