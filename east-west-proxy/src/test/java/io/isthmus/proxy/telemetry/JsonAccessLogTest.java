package io.isthmus.proxy.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.proxy.authz.audit.FileAuditSink;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** The access log writes one JSON line per request and per tunnel, to a real file, with both clusters and no query. */
class JsonAccessLogTest {
    @TempDir
    Path dir;

    @Test
    void writesOneLinePerRequestAndTunnel() throws Exception {
        Path file = dir.resolve("access.jsonl");
        AccessLogEntry request;
        AccessLogEntry tunnel;
        RequestLabels labels = new RequestLabels("ingress", "alpha", "beta", "alpha.acme.internal",
                "payments.billing.svc.clusterset.local", 200);
        try (JsonAccessLog log = new JsonAccessLog(new FileAuditSink(file), new SimpleMeterRegistry(), 16)) {
            log.record(request = new AccessLogEntry(Instant.parse("2026-12-04T23:00:00.123Z"), "request", labels,
                    "spiffe://alpha.acme.internal/ns/shop/sa/checkout",
                    Optional.of("spiffe://alpha.acme.internal/ns/isthmus-system/sa/isthmus-gateway"), Optional.of("GET"),
                    Optional.of("/charge?card=4111111111111111"), "h2", 1840, 0, 312, Optional.of("10.0.3.7:8080"),
                    Optional.of("4bf92f3577b34da6a3ce929d0e0e4736"), Optional.empty()));
            log.record(tunnel = new AccessLogEntry(Instant.parse("2026-12-04T23:00:01Z"), "tunnel", new RequestLabels("ingress",
                    "alpha", "beta", "alpha.acme.internal", "db.billing.svc.clusterset.local", 0), "spiffe://a/b",
                    Optional.empty(), Optional.empty(), Optional.empty(), "tcp", 5_000_000, 4096, 1 << 20,
                    Optional.of("10.0.3.8:5432"), Optional.empty(), Optional.empty()));
            await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(file) && Files.readAllLines(file).size() == 2);
        }
        List<String> lines = Files.readAllLines(file);
        // The writer thread reuses one generator: each line is exactly what a fresh generator writes for its entry.
        assertThat(lines).containsExactly(JsonAccessLog.toJson(request), JsonAccessLog.toJson(tunnel));
        ObjectMapper json = new ObjectMapper();
        JsonNode requestLine = json.readTree(lines.get(0));
        assertThat(requestLine.path("source_cluster").asText()).isEqualTo("alpha");
        assertThat(requestLine.path("destination_cluster").asText()).isEqualTo("beta");
        assertThat(requestLine.path("source_trust_domain").asText()).isEqualTo("alpha.acme.internal");
        assertThat(requestLine.path("destination_service").asText()).isEqualTo("payments.billing.svc.clusterset.local");
        assertThat(requestLine.path("code").asInt()).isEqualTo(200);
        assertThat(requestLine.path("path").asText()).isEqualTo("/charge");
        assertThat(lines.get(0)).doesNotContain("4111");
        assertThat(requestLine.path("trace_id").asText()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        JsonNode tunnelLine = json.readTree(lines.get(1));
        assertThat(tunnelLine.path("kind").asText()).isEqualTo("tunnel");
        assertThat(tunnelLine.path("bytes_out").asLong()).isEqualTo(1 << 20);
        assertThat(tunnelLine.has("method")).isFalse();
    }

    @Test
    void aFullQueueDropsLinesAndCountsThemInsteadOfBlocking() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        io.isthmus.proxy.authz.audit.AuditSink stuck = lines -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        RequestLabels labels = new RequestLabels("egress", "beta", "alpha", "beta.acme.internal", "unknown", 502);
        try (JsonAccessLog log = new JsonAccessLog(stuck, registry, 1)) {
            for (int i = 0; i < 50; i++) {
                log.record(new AccessLogEntry(Instant.now(), "request", labels, "unauthenticated", Optional.empty(),
                        Optional.of("GET"), Optional.of("/"), "http/1.1", 1, 0, 0, Optional.empty(), Optional.empty(),
                        Optional.of("no-route")));
            }
            assertThat(registry.find("isthmus_access_log_dropped").counter().count()).isGreaterThanOrEqualTo(48);
            release.countDown();
        }
    }
}
