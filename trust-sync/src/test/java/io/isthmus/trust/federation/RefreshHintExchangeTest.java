package io.isthmus.trust.federation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.jwt.JwtSigningKey;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.AttackerTls;
import io.isthmus.trust.testing.HourlyPeers;

/**
 * Two gateways in one JVM with real bundle endpoints on loopback that would poll each other only once an hour. A
 * refresh hint from one makes the other pull its bundle at once, and the answers to later hints show the new JWT key
 * held; hints sent by anyone else, with a key of their own in the body, cause nothing but a throttled pull of the real
 * bundle from the configured endpoint.
 */
class RefreshHintExchangeTest {
    private static final TrustDomain A = HourlyPeers.A;
    private static final TrustDomain B = HourlyPeers.B;

    @TempDir
    Path dataRoot;

    private HourlyPeers peers;
    private TrustRuntime a;
    private TrustRuntime b;

    @AfterEach
    void stop() {
        if (peers != null) {
            peers.close();
        }
    }

    @Test
    void aHintMakesThePeerPullAtOnceAndAForgedOneCausesNothingElse() throws Exception {
        peers = HourlyPeers.start(dataRoot);
        a = peers.a();
        b = peers.b();
        int pb = peers.portB();
        await().atMost(Duration.ofSeconds(15)).until(() -> b.bundleFor(A).isPresent() && a.bundleFor(B).isPresent());

        // A new JWT key at a: b, polling hourly, learns it only because a hints it.
        JwtSigningKey key = JwtSigningKey.generate();
        a.localBundle().publishJwtAuthorities(List.of(key.authority()));
        assertThat(kidsAtB()).doesNotContain(key.keyId());
        Instant hinted = Instant.now();
        await("b confirms a's new key in answer to a's hints").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(300))
                .until(() -> a.sync().hintPeers(A, td -> true).get(B).join(), r -> {
                    assertThat(r.status()).isIn(202, 429);
                    return r.jwtKeyIds().contains(key.keyId());
                });
        System.out.printf("RefreshHintExchangeTest: new JWT key confirmed by the peer %d ms after the first hint%n",
                Duration.between(hinted, Instant.now()).toMillis());
        assertThat(kidsAtB()).containsExactly(key.keyId());

        // Anyone, without a client certificate, with a key of its own for a in the body.
        JwtSigningKey evil = JwtSigningKey.generate();
        String body = new BundleCodec().toJson(new TrustBundle(A, List.of(), List.of(evil.authority()), Long.MAX_VALUE / 2,
                Optional.empty()));
        HttpClient anyone = HttpClient.newBuilder().sslContext(AttackerTls.trustingAnyone()).build();
        String hintUrl = "https://127.0.0.1:" + pb + RefreshHint.PATH;
        int pulls = 0;
        long burst = System.nanoTime();
        for (int i = 0; i < 10; i++) {
            HttpResponse<String> r = post(anyone, hintUrl + "?trust_domain=" + A.name(), body);
            assertThat(r.statusCode()).as(r.body()).isIn(202, 429);
            assertThat(r.body()).contains("\"jwt_key_ids\":[\"" + key.keyId() + "\"]").doesNotContain(evil.keyId());
            pulls += r.statusCode() == 202 ? 1 : 0;
        }
        long burstMillis = Duration.ofNanos(System.nanoTime() - burst).toMillis();
        assertThat(pulls).as("hinted pulls of a within a burst of %d ms (at most one per 300 ms)", burstMillis)
                .isLessThanOrEqualTo((int) (burstMillis / 300) + 1);
        HttpResponse<String> self = post(anyone, hintUrl + "?trust_domain=" + B.name(), body);
        assertThat(self.statusCode()).as(self.body()).isEqualTo(404);
        assertThat(self.body()).contains("\"error\":\"not-a-peer\"");
        HttpResponse<String> bad = post(anyone, hintUrl + "?trust_domain=A.ACME", body);
        assertThat(bad.statusCode()).as(bad.body()).isEqualTo(400);
        assertThat(bad.body()).contains("\"error\":\"malformed-trust-domain\"").contains("A.ACME");
        HttpResponse<String> get = anyone.send(HttpRequest.newBuilder(URI.create(hintUrl + "?trust_domain=" + A.name()))
                .GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(get.statusCode()).isEqualTo(405);
        // Whatever the pulls brought is a's real bundle: the forged key is nowhere, a's own bundle included.
        Thread.sleep(1000);
        assertThat(kidsAtB()).containsExactly(key.keyId());
        assertThat(a.localBundle().current().jwtAuthorities()).extracting(JwtAuthority::keyId)
                .containsExactly(key.keyId());
        assertThat(b.bundleFor(A).orElseThrow().sequence()).isEqualTo(a.localBundle().current().sequence());
    }

    private List<String> kidsAtB() {
        return b.bundleFor(A).orElseThrow().jwtAuthorities().stream().map(JwtAuthority::keyId).toList();
    }

    private static HttpResponse<String> post(HttpClient http, String url, String body) throws IOException,
            InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(url)).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
