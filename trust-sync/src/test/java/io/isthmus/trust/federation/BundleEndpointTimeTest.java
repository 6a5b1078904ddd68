package io.isthmus.trust.federation;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

import javax.net.ssl.SSLContext;

import org.junit.jupiter.api.Test;

/**
 * The bundle endpoint states its gateway's time to the millisecond, from the clock the gateway runs on (not the JVM's,
 * which the HTTP {@code Date} header shows), so that peers can measure the skew between them.
 */
class BundleEndpointTimeTest {
    @Test
    void everyAnswerStatesTheGatewaysOwnClock() throws Exception {
        BundleEndpointFixture endpoint = BundleEndpointFixture.create();
        Instant skewed = Instant.parse("2031-02-03T04:05:06.789Z");
        try (BundleEndpointServer server = endpoint.start(Clock.fixed(skewed, ZoneOffset.UTC))) {
            SSLContext tls = endpoint.peerTls();
            HttpClient http = HttpClient.newBuilder().sslContext(tls).build();
            for (String path : List.of("/", "/nothing-here")) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:"
                        + server.address().getPort() + path)).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.headers().firstValue(BundleEndpointServer.TIME_HEADER)).as(path)
                        .contains("2031-02-03T04:05:06.789Z");
                assertThat(r.headers().firstValue("Date")).as("the JVM's clock, not the gateway's")
                        .hasValueSatisfying(d -> assertThat(d).doesNotContain("2031"));
            }
        }
    }
}
