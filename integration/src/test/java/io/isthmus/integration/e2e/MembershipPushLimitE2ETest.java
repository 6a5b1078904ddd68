package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.integration.vm.VmGateway;
import io.isthmus.trust.testing.AttackerTls;
import io.isthmus.trust.testing.FreePorts;

/**
 * An attacker floods the membership push endpoint ({@code POST /v1/membership} on the bundle endpoint, reachable by
 * anyone who reaches the bundle endpoint) of a real gateway process: after the configured burst every push is
 * answered 429 with Retry-After, its body neither parsed nor verified, the first refusal is one audit line (not one per push), and
 * reading the membership ({@code GET}) still works. The endpoint is the JDK's HTTP/1.1 server: there is no HTTP/2 on it.
 */
class MembershipPushLimitE2ETest {
    private static final int BURST = 5;

    @TempDir
    Path dir;

    @Test
    void aFloodOfPushesIsRefusedWith429AfterTheBurstAndAuditedOnce() throws Exception {
        int bundlePort = FreePorts.next();
        try (VmGateway gateway = new VmGateway(dir, "push.e2e.test", Duration.ofMinutes(10), List.of(
                "-Disthmus.bundle-endpoint.port=" + bundlePort,
                "-Disthmus.federation.push-rate-limit.burst=" + BURST,
                "-Disthmus.federation.push-rate-limit.per-minute=1"))) {
            gateway.start("gateway.log");
            HttpClient attacker = HttpClient.newBuilder().sslContext(AttackerTls.trustingAnyone())
                    .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
            URI push = URI.create("https://127.0.0.1:" + bundlePort + "/v1/membership");
            HttpRequest forged = HttpRequest.newBuilder(push).timeout(Duration.ofSeconds(10))
                    .POST(HttpRequest.BodyPublishers.ofString("eyJhbGciOiJub25lIn0.eyJ2ZXJzaW9uIjo5OTl9.")).build();
            for (int i = 0; i < BURST; i++) {
                HttpResponse<String> r = attacker.send(forged, HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as("push %d, within the burst: verified and refused: %s", i, r.body())
                        .isEqualTo(409);
            }
            for (int i = 0; i < 200; i++) {
                HttpResponse<String> r = attacker.send(forged, HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as("push %d, over the limit", BURST + i).isEqualTo(429);
                assertThat(r.headers().firstValueAsLong("Retry-After").orElse(0)).isBetween(1L, 61L);
                assertThat(r.body()).contains("\"error\":\"rate-limited\"", "too many membership pushes from 127.0.0.1",
                        "isthmus.federation.push-rate-limit");
            }
            HttpResponse<String> read = attacker.send(HttpRequest.newBuilder(push).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(read.statusCode()).as("reading is not limited: %s", read.body()).isEqualTo(404);
            List<String> audited = Files.readAllLines(dir.resolve("gateway.log")).stream()
                    .filter(l -> l.contains("\"action\":\"federation.membership.push\"")).toList();
            assertThat(audited).singleElement().asString().contains("\"decision\":\"deny\"", "\"code\":\"rate-limited\"",
                    "\"source\":\"127.0.0.1\"");
        }
    }
}
