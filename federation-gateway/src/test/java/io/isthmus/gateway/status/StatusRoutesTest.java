package io.isthmus.gateway.status;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.DecisionLog;
import io.isthmus.proxy.authz.DenyReason;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The federation page and its status on the management port of the real application: the page's files with a
 * policy that runs only its own script, the status as {@code isthmus check} reads it, and a denial the data plane's
 * decision log records showing up in it while the audit counters still count it (one decision log bean, two readers).
 */
@QuarkusTest
class StatusRoutesTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();

    @TestHTTPResource(value = "/metrics", management = true)
    URL metrics;

    @Inject
    DecisionLog decisionLog;

    private URI at(String path) {
        return URI.create(metrics.toString().replace("/q/metrics", path));
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(at(path)).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void servesThePageWithAPolicyThatRunsOnlyItsOwnScript() throws Exception {
        HttpResponse<String> bare = get("/federation");
        assertThat(bare.statusCode()).isEqualTo(302);
        assertThat(bare.headers().firstValue("Location")).hasValueSatisfying(l -> assertThat(l).endsWith("/federation/"));
        HttpResponse<String> page = get("/federation/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/html"));
        assertThat(page.headers().firstValue("Content-Security-Policy")).hasValueSatisfying(csp ->
                assertThat(csp).contains("default-src 'none'", "script-src 'self'").doesNotContain("unsafe-inline"));
        assertThat(page.body()).contains("<script src=\"federation.js\" defer></script>").doesNotContain("onclick");
        HttpResponse<String> script = get("/federation/federation.js");
        assertThat(script.statusCode()).isEqualTo(200);
        assertThat(script.body()).doesNotContain("innerHTML").contains("textContent");
        assertThat(get("/federation/../q/metrics").statusCode()).as("no path outside the three files")
                .isIn(200, 404);
        assertThat(get("/federation/application.properties").statusCode()).isEqualTo(404);
    }

    @Test
    void statusReadsAsTheCliReadsItAndShowsTheDataPlanesDenials() throws Exception {
        SpiffeId intruder = SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/intruder-" + System.nanoTime());
        decisionLog.record(AccessRequest.http(intruder, MeshName.of("payments", "billing"), 8080, "GET",
                "/admin?token=s3cret"), new Decision.Denied(DenyReason.NO_MATCHING_ALLOW, "", "",
                "no ALLOW rule matches", List.of()));
        HttpResponse<String> r = get("/federation/api/status");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Cache-Control")).contains("no-store");
        FederationStatus s = StatusJson.read(r.body(), "test");
        assertThat(s.cluster()).isEqualTo("test-cluster");
        assertThat(s.trustDomain()).isEqualTo("test.isthmus.local");
        assertThat(s.self().intermediateChainPem()).isNotEmpty();
        // The test profile runs on a generated development CA: no CA files, and the configuration says so.
        assertThat(s.self().files()).extracting(FileView::key).contains("isthmus.admin.bootstrap-token-file",
                "isthmus.authz.policy-file", "isthmus.data-dir");
        assertThat(s.self().configProblems()).anySatisfy(p -> assertThat(p).startsWith("isthmus.dev.generate-ca=true"));
        assertThat(s.registry().services()).extracting(ServiceRow::meshName)
                .contains("payments.billing.svc.clusterset.local");
        assertThat(s.authorities()).extracting(CaView::kind).contains("root", "intermediate");
        assertThat(s.recentDenials()).anySatisfy(d -> {
            assertThat(d.caller()).isEqualTo(intruder.toString());
            assertThat(d.reason()).isEqualTo("no-matching-allow");
            assertThat(d.request()).isEqualTo("GET /admin port 8080");
        });
        assertThat(r.body()).doesNotContain("s3cret");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(get("/q/metrics").body())
                .contains("isthmus_authz_decisions_total{decision=\"deny\",reason=\"no-matching-allow\"}"));
    }
}
