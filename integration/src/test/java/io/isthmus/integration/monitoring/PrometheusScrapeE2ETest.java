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
import io.isthmus.integration.e2e.Clusters;
import io.isthmus.integration.e2e.Workload;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.federation.SampleService;
import io.isthmus.integration.support.OtlpCollector;
import io.isthmus.integration.support.PackagedJars;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;

/**
 * A real Prometheus (Debian's, started here on loopback with a generated configuration and the repository's rule
 * file) scrapes two real gateways: both targets are up, every rule of {@code isthmus-rules.yml} evaluates without
 * error against the metrics gateways really expose, and when one gateway is killed the other's metrics turn and the
 * bridge and stale-bundle alerts go pending for the right peer: the rules and the metrics agree on names and labels.
 *
 * <p>On the same pair, one cross-cluster call (alpha's workload to beta's payments, with the caller's W3C
 * {@code traceparent}; both gateways export spans over OTLP to a collector stand-in and write the JSON access log to
 * a file): the request metrics of both gateways, as Prometheus scraped them, and both access-log lines name both
 * clusters; the trace ID that reaches beta's backend is the caller's, sent on by beta's span; both gateways exported a
 * span of that trace.
 */
class PrometheusScrapeE2ETest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    @Test
    void prometheusScrapesTheGatewaysSeesOneCallUnderBothClustersEvaluatesTheRulesAndSeesAPeerGo() throws Exception {
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
        ClusterSpec betaSpec = clusters.get(1);
        try (OtlpCollector collector = OtlpCollector.start();
                SampleService payments = SampleService.start("127.0.0.1", betaSpec.ports().sample(), "beta", "payments");
                Federation federation = Federation.prepare(dir, PackagedJars.gateway(), clusters, Duration.ofSeconds(1),
                        (c, p) -> configure(c, p, collector), Map.of())) {
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
                // The bridge forms in the background, after readiness and independently of bundle sync.
                Awaitility.await("alpha's registry connected to beta").atMost(Duration.ofSeconds(60))
                        .pollInterval(Duration.ofSeconds(1))
                        .until(() -> values(base, "isthmus_registry_site_connected").get(alpha),
                                v -> Double.valueOf(1.0).equals(v));
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

                oneCrossClusterCall(federation, clusters, payments, collector, base, alpha, beta);

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

    private static final String PAYMENTS = "payments.billing.svc.clusterset.local";
    private static final String CHECKOUT = "spiffe://alpha.acme.internal/ns/demo/sa/client";
    private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String CALLER_SPAN = "00f067aa0ba902b7";

    /** Both gateways trace (OTLP to {@code collector}) and log access to a file; beta exports payments to demo clients. */
    private static void configure(ClusterSpec c, Map<String, String> p, OtlpCollector collector) {
        p.put("isthmus.bundle-sync.stale-factor", "2");
        // beta's bridge is found gone by failure detection: 6 s without a heartbeat instead of the production 20 s.
        p.put("isthmus.registry.failure-detection.timeout", "6s");
        p.put("isthmus.registry.failure-detection.interval", "2s");
        p.put("isthmus.telemetry.otlp.endpoint", collector.url());
        p.put("isthmus.telemetry.access-log.path", c.dir().resolve("access.jsonl").toString());
        if (!c.name().equals("beta")) {
            return;
        }
        p.put("isthmus.registry.static-exports.payments.namespace", "billing");
        p.put("isthmus.registry.static-exports.payments.ports", "http:80");
        p.put("isthmus.proxy.backends.\"" + PAYMENTS + "\"", "127.0.0.1:" + c.ports().sample());
        Path policy = Clusters.allowDemoClients(c.dir());
        p.put("isthmus.authz.policy-file", policy.toString());
    }

    /**
     * The issue's must-show: the metrics and the access log of one cross-cluster call show both clusters, and the
     * trace ID survives the hop.
     */
    private void oneCrossClusterCall(Federation federation, List<ClusterSpec> clusters, SampleService payments,
            OtlpCollector collector, String base, String alphaInstance, String betaInstance) throws Exception {
        ClusterSpec alpha = clusters.get(0);
        Workload checkout = Workload.issue(federation.pki(), CHECKOUT);
        String egress = alpha.host() + ":" + alpha.ports().egress();
        String head = "GET /charge?card=4111111111111111 HTTP/1.1\r\nHost: " + PAYMENTS + "\r\ntraceparent: 00-" + TRACE
                + "-" + CALLER_SPAN + "-01\r\ntracestate: vendor=caller\r\nConnection: close\r\n\r\n";
        Workload.Response ok = Awaitility.await("a call from alpha to beta's payments").atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(500)).until(() -> checkout.call(egress, head), r -> r.status() == 200);
        assertThat(ok.body()).contains("\"cluster\":\"beta\"");

        // The trace that reached the backend is the caller's; its parent is beta's span, not the caller's own.
        String reached = payments.lastTraceparent().orElseThrow(() -> new AssertionError("no traceparent at the backend"));
        assertThat(reached).startsWith("00-" + TRACE + "-").doesNotContain(CALLER_SPAN);

        // Both gateways count the call under both clusters, as Prometheus scraped them.
        String series = "isthmus_requests_total{source_cluster=\"alpha\",destination_cluster=\"beta\","
                + "source_trust_domain=\"alpha.acme.internal\",destination_service=\"" + PAYMENTS + "\",code=\"200\"}";
        Map<String, Double> counted = Awaitility.await("both gateways' request series scraped")
                .atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1))
                .until(() -> values(base, series), v -> v.keySet().containsAll(List.of(alphaInstance, betaInstance)));
        assertThat(counted.values()).allSatisfy(v -> assertThat(v).isGreaterThanOrEqualTo(1.0));
        assertThat(values(base, "count(isthmus_requests_total{source_principal!=\"\"})")).as("no unbounded label")
                .isEmpty();

        // One access-log line per gateway for the call, each with both clusters and the caller's trace, no query.
        for (ClusterSpec c : clusters) {
            Path log = c.dir().resolve("access.jsonl");
            JsonNode line = Awaitility.await(c.name() + "'s access-log line").atMost(Duration.ofSeconds(20))
                    .pollInterval(Duration.ofMillis(300)).until(() -> accessLine(log), java.util.Optional::isPresent)
                    .orElseThrow();
            System.out.println(c.name() + " access log: " + line);
            assertThat(line.path("direction").asText()).isEqualTo(c.name().equals("alpha") ? "egress" : "ingress");
            assertThat(line.path("source_cluster").asText()).isEqualTo("alpha");
            assertThat(line.path("destination_cluster").asText()).isEqualTo("beta");
            assertThat(line.path("source_trust_domain").asText()).isEqualTo("alpha.acme.internal");
            assertThat(line.path("caller").asText()).isEqualTo(CHECKOUT);
            assertThat(line.path("path").asText()).isEqualTo("/charge");
            // Neither the query nor the card number in it; not "4111" alone, which a timestamp's nanoseconds, a
            // duration or a port may contain (it did: "10:11:31.554111077Z").
            assertThat(line.toString()).doesNotContain("card=").doesNotContain("4111111111111111");
        }

        // Each gateway exported its span of the caller's trace.
        Awaitility.await("spans of the caller's trace from alpha and beta").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(500))
                .until(() -> collector.clustersWithTrace(TRACE), c -> c.containsAll(List.of("alpha", "beta")));
    }

    /** The line of the call to payments with the caller's trace ID in {@code file}, once it is there. */
    private static java.util.Optional<JsonNode> accessLine(Path file) throws IOException {
        if (!Files.exists(file)) {
            return java.util.Optional.empty();
        }
        for (String l : Files.readAllLines(file)) {
            JsonNode json = JSON.readTree(l);
            if (json.path("trace_id").asText().equals(TRACE) && json.path("code").asInt() == 200) {
                return java.util.Optional.of(json);
            }
        }
        return java.util.Optional.empty();
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
