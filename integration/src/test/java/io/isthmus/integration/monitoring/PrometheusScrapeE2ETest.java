package io.isthmus.integration.monitoring;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.support.PackagedJars;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;

/**
 * A real Prometheus (Debian's, started here on loopback with a generated configuration and the repository's rule
 * file) scrapes two real gateways: both targets are up, every rule of {@code isthmus-rules.yml} evaluates without
 * error against the metrics gateways really expose, and when one gateway is killed the other's metrics turn and the
 * bridge and stale-bundle alerts go pending for the right peer: the rules and the metrics agree on names and labels.
 */
class PrometheusScrapeE2ETest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    @Test
    void prometheusScrapesTheGatewaysEvaluatesTheRulesAndSeesAPeerGo() throws Exception {
        Path prometheus = Path.of("/usr/bin/prometheus");
        if (!Files.isExecutable(prometheus)) {
            throw new AssertionError("Prometheus is not installed (" + prometheus + "): apt-get install prometheus"
                    + " (.ci/run installs it)");
        }
        List<ClusterSpec> clusters = new ArrayList<>();
        for (String n : List.of("alpha", "beta")) {
            clusters.add(new ClusterSpec(n, TrustDomain.parse(n + ".acme.internal"), "127.0.0.1", new ClusterSpec.Ports(
                    FreePorts.next(), FreePorts.next(), FreePorts.next(), FreePorts.next(), FreePorts.next(),
                    FreePorts.next(), FreePorts.next(), FreePorts.next()), dir.resolve(n)));
        }
        try (Federation federation = Federation.prepare(dir, PackagedJars.gateway(), clusters, Duration.ofSeconds(1),
                (c, p) -> p.put("isthmus.bundle-sync.stale-factor", "2"), Map.of())) {
            federation.start(Duration.ofSeconds(120));
            int port = FreePorts.next();
            Process server = startPrometheus(prometheus, clusters, port);
            String base = "http://127.0.0.1:" + port;
            try {
                awaitReady(server, base);
                String alpha = "127.0.0.1:" + clusters.get(0).ports().management();
                String beta = "127.0.0.1:" + clusters.get(1).ports().management();

                Awaitility.await("both gateways scraped").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
                        .until(() -> values(base, "up{job=\"isthmus\"}"), v -> v.equals(Map.of(alpha, 1.0, beta, 1.0)));
                Awaitility.await("both peers' bundles fresh").atMost(Duration.ofSeconds(60))
                        .pollInterval(Duration.ofSeconds(1))
                        .until(() -> values(base, "isthmus_peer_bundle_stale"), v -> v.equals(Map.of(alpha, 0.0, beta, 0.0)));
                assertThat(values(base, "isthmus_registry_site_connected")).containsEntry(alpha, 1.0);
                assertThat(values(base, "isthmus_cert_expiry_seconds{kind=\"intermediate\"}").values())
                        .allSatisfy(v -> assertThat(v).isGreaterThan(29 * 86400.0));

                // Every rule in the file evaluated against these gateways' series without an error.
                JsonNode groups = Awaitility.await("every rule evaluated").atMost(Duration.ofSeconds(60))
                        .pollInterval(Duration.ofSeconds(1)).until(() -> api(base, "/api/v1/rules").path("groups"),
                                g -> g.size() == 4 && allEvaluated(g));
                for (JsonNode group : groups) {
                    for (JsonNode rule : group.path("rules")) {
                        assertThat(rule.path("health").asText()).as("rule %s: %s", rule.path("name").asText(),
                                rule.path("lastError").asText()).isEqualTo("ok");
                    }
                }
                assertThat(values(base, "ALERTS")).as("no alert on a healthy pair").isEmpty();

                // beta dies: alpha's bridge and bundle gauges turn, and the alerts for beta go pending.
                federation.gateway("beta").kill();
                Awaitility.await("alpha's bridge to beta down, bundle stale").atMost(Duration.ofSeconds(90))
                        .pollInterval(Duration.ofSeconds(1))
                        .until(() -> values(base, "isthmus_registry_site_connected{site=\"beta\"} == 0").containsKey(alpha)
                                && values(base, "isthmus_peer_bundle_stale{peer=\"beta\"} == 1").containsKey(alpha));
                Awaitility.await("alerts pending for beta").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1))
                        .until(() -> values(base, "ALERTS{alertstate=\"pending\",alertname=\"IsthmusBridgeSiteDown\",site=\"beta\"}")
                                .containsKey(alpha) && values(base, "ALERTS{alertstate=\"pending\","
                                + "alertname=\"IsthmusPeerBundleStale\",peer=\"beta\"}").containsKey(alpha));
                assertThat(values(base, "up{job=\"isthmus\"}")).containsEntry(beta, 0.0);
            } finally {
                server.destroy();
                if (!server.waitFor(20, TimeUnit.SECONDS)) {
                    server.destroyForcibly();
                }
            }
        }
    }

    private Process startPrometheus(Path prometheus, List<ClusterSpec> clusters, int port) throws IOException {
        Path rules = io.isthmus.integration.support.Repo.root().resolve("monitoring/prometheus/isthmus-rules.yml");
        String targets = String.join(", ", clusters.stream().map(c -> "'127.0.0.1:" + c.ports().management() + "'").toList());
        Path config = dir.resolve("prometheus.yml");
        Files.writeString(config, """
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                rule_files:
                  - %s
                scrape_configs:
                  - job_name: isthmus
                    metrics_path: /q/metrics
                    static_configs:
                      - targets: [%s]
                """.formatted(rules, targets));
        return new ProcessBuilder(prometheus.toString(), "--config.file=" + config,
                "--storage.tsdb.path=" + dir.resolve("prometheus-data"), "--web.listen-address=127.0.0.1:" + port)
                .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
    }

    private void awaitReady(Process server, String base) {
        Awaitility.await("Prometheus ready").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                .ignoreExceptionsInstanceOf(IOException.class).until(() -> {
                    if (!server.isAlive()) {
                        throw new AssertionError("Prometheus exited: " + Files.readString(dir.resolve("prometheus.log")));
                    }
                    return HTTP.send(HttpRequest.newBuilder(URI.create(base + "/-/ready")).build(),
                            HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
                });
    }

    private static boolean allEvaluated(JsonNode groups) {
        for (JsonNode group : groups) {
            for (JsonNode rule : group.path("rules")) {
                if (rule.path("lastEvaluation").asText().startsWith("0001-")) {
                    return false;
                }
            }
        }
        return true;
    }

    /** An instant query's result: the value of each series, by its {@code instance} label. */
    static Map<String, Double> values(String base, String query) throws IOException, InterruptedException {
        JsonNode data = api(base, "/api/v1/query?query=" + URLEncoder.encode(query, StandardCharsets.UTF_8)).path("result");
        Map<String, Double> out = new java.util.TreeMap<>();
        for (JsonNode series : data) {
            out.put(series.path("metric").path("instance").asText(), series.path("value").path(1).asDouble());
        }
        return out;
    }

    static JsonNode api(String base, String path) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10))
                .build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json = JSON.readTree(r.body());
        if (!"success".equals(json.path("status").asText())) {
            throw new IOException(path + " answered " + r.statusCode() + ": " + r.body());
        }
        return json.path("data");
    }
}
