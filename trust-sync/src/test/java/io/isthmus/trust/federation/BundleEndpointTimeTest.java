package io.isthmus.trust.federation;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

import org.junit.jupiter.api.Test;

import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.RootAnchoredTrustManager;

/**
 * The bundle endpoint states its gateway's time to the millisecond, from the clock the gateway runs on (not the JVM's,
 * which the HTTP {@code Date} header shows), so that peers can measure the skew between them.
 */
class BundleEndpointTimeTest {
    @Test
    void everyAnswerStatesTheGatewaysOwnClock() throws Exception {
        TrustDomain td = new TrustDomain("b.acme.internal");
        TestCa pki = TestCa.create();
        CaCredential ca = pki.intermediate(td.name());
        X509Svid svid = TestCa.svid(ca, "spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
        Instant skewed = Instant.parse("2031-02-03T04:05:06.789Z");
        TrustBundle bundle = new TrustBundle(td, List.of(ca.certificate()), List.of(), 1, Optional.empty());
        try (BundleEndpointServer server = BundleEndpointServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                () -> svid, () -> bundle, new BundleCodec(), null, Clock.fixed(skewed, ZoneOffset.UTC))) {
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(null, new TrustManager[] {new RootAnchoredTrustManager(td, PeerPolicy.memberOf(td), pki.roots(),
                    ignored -> Optional.empty(), Clock.systemUTC(), Duration.ofSeconds(30))}, null);
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
