package io.isthmus.proxy.authz.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.DenyReason;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.MutableClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

class JsonDecisionLogTest {
    static final SpiffeId CART = SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/cart");
    static final SpiffeId GATEWAY_A = SpiffeId.parse("spiffe://a.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
    static final MeshName PAYMENTS = MeshName.of("payments", "billing");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    final MutableClock clock = new MutableClock(Instant.parse("2026-11-23T10:00:00.123Z"));
    final SimpleMeterRegistry metrics = new SimpleMeterRegistry();

    @Test
    void writesOneJsonLinePerDecisionAndCountsThem() throws IOException {
        Path file = dir.resolve("audit/decisions.jsonl");
        try (JsonDecisionLog log = new JsonDecisionLog(clock, new FileAuditSink(file), metrics, 1024)) {
            log.record(AccessRequest.http(CART, PAYMENTS, 8080, "GET", "/v1/pay?token=secret").viaGateway(GATEWAY_A),
                    new Decision.Denied(DenyReason.EXPLICIT_DENY, "billing/no-cart", "rules[1]", "DENY policy ...",
                            List.of("isthmus-system/audit-all")));
            clock.advance(Duration.ofMillis(5));
            log.record(AccessRequest.tcp(CART, PAYMENTS, 5432),
                    new Decision.Allowed("billing/db", "rules[0]", List.of()));
            log.record(AccessRequest.tcp(CART, PAYMENTS, 5433),
                    new Decision.Denied(DenyReason.NO_MATCHING_ALLOW, "", "", "no ALLOW policy applies", List.of()));
        }
        List<String> lines = Files.readAllLines(file);
        assertThat(lines).hasSize(3);
        JsonNode deny = JSON.readTree(lines.get(0));
        assertThat(deny.get("version").asInt()).isEqualTo(DecisionLogFormat.VERSION);
        assertThat(deny.get("mode").asText()).isEqualTo("enforce");
        assertThat(deny.get("time").asText()).isEqualTo("2026-11-23T10:00:00.123Z");
        assertThat(deny.get("decision").asText()).isEqualTo("deny");
        assertThat(deny.get("reason").asText()).isEqualTo("explicit-deny");
        assertThat(deny.get("policy").asText()).isEqualTo("billing/no-cart");
        assertThat(deny.get("rule").asText()).isEqualTo("rules[1]");
        assertThat(deny.get("caller").asText()).isEqualTo(CART.toString());
        assertThat(deny.get("caller_trust_domain").asText()).isEqualTo("a.acme.internal");
        assertThat(deny.get("peer_gateway").asText()).isEqualTo(GATEWAY_A.toString());
        assertThat(deny.get("destination").asText()).isEqualTo("payments.billing.svc.clusterset.local");
        assertThat(deny.get("service").asText()).isEqualTo("payments");
        assertThat(deny.get("namespace").asText()).isEqualTo("billing");
        assertThat(deny.get("port").asInt()).isEqualTo(8080);
        assertThat(deny.get("method").asText()).isEqualTo("GET");
        assertThat(deny.get("path").asText()).as("query strings are not logged").isEqualTo("/v1/pay");
        assertThat(deny.get("audited").asBoolean()).isTrue();
        assertThat(deny.get("audit_matches")).hasSize(1);
        assertThat(deny.get("audit_matches").get(0).asText()).isEqualTo("isthmus-system/audit-all");
        assertThat(deny.get("detail").asText()).isEqualTo("DENY policy ...");

        JsonNode allow = JSON.readTree(lines.get(1));
        assertThat(allow.get("decision").asText()).isEqualTo("allow");
        assertThat(allow.get("reason").asText()).isEqualTo("allowed");
        assertThat(allow.get("protocol").asText()).isEqualTo("tcp");
        assertThat(allow.has("method")).isFalse();
        assertThat(allow.get("peer_gateway").isNull()).isTrue();
        assertThat(allow.get("time").asText()).isEqualTo("2026-11-23T10:00:00.128Z");

        JsonNode noAllow = JSON.readTree(lines.get(2));
        assertThat(noAllow.get("policy").isNull()).isTrue();
        assertThat(noAllow.get("rule").isNull()).isTrue();
        assertThat(noAllow.get("source_cluster").isNull()).as("no cluster names given").isTrue();
        assertThat(noAllow.has("observed")).isFalse();
        assertThat(noAllow.has("dry_run")).isFalse();
        assertThat(noAllow.get("reason").asText()).isEqualTo("no-matching-allow");

        assertThat(metrics.get("isthmus.authz.decisions").tags("decision", "deny", "reason", "explicit-deny")
                .counter().count()).isEqualTo(1);
        assertThat(metrics.get("isthmus.authz.decisions").tags("decision", "allow", "reason", "allowed")
                .counter().count()).isEqualTo(1);
        assertThat(metrics.get("isthmus.authz.decisions").tags("decision", "deny", "reason", "no-matching-allow")
                .counter().count()).isEqualTo(1);
        assertThat(metrics.find("isthmus.authz.denials").counters()).as("counted by ProxyMetrics only").isEmpty();
    }

    @Test
    void namesBothClustersAndTheWouldBeVerdictsAndCountsWouldBeDenials() throws IOException {
        Path file = dir.resolve("decisions.jsonl");
        ClusterNames clusters = ClusterNames.of(Map.of(new TrustDomain("a.acme.internal"), "alpha"));
        Decision observed = new Decision.Allowed("billing/observe", Decision.OBSERVE_RULE, List.of(),
                Optional.of(new Decision.Denied(DenyReason.NO_MATCHING_ALLOW, "", "", "no ALLOW policy", List.of())),
                Optional.of(new Decision.Denied(DenyReason.EXPLICIT_DENY, "billing/no-delete", "rules[0]", "x",
                        List.of())));
        AccessRequest request = AccessRequest.http(CART, PAYMENTS, 80, "DELETE", "/orders/7").viaGateway(GATEWAY_A);
        try (JsonDecisionLog log = new JsonDecisionLog(clock, new FileAuditSink(file), metrics, 16,
                Optional.of("gamma"), clusters)) {
            log.record(request, observed);
            log.record(request, observed);
            log.record(AccessRequest.tcp(SpiffeId.parse("spiffe://z.example/ns/x/sa/y"), PAYMENTS, 5432),
                    new Decision.Allowed("billing/all", "rules[0]", List.of()));
        }
        List<String> lines = Files.readAllLines(file);
        JsonNode line = JSON.readTree(lines.get(0));
        assertThat(line.get("mode").asText()).isEqualTo("observe");
        assertThat(line.get("decision").asText()).isEqualTo("allow");
        assertThat(line.get("policy").asText()).isEqualTo("billing/observe");
        assertThat(line.get("rule").asText()).isEqualTo("spec.mode");
        assertThat(line.get("source_cluster").asText()).isEqualTo("alpha");
        assertThat(line.get("destination_cluster").asText()).isEqualTo("gamma");
        assertThat(line.get("path").asText()).isEqualTo("/orders/7");
        assertThat(line.get("observed").get("decision").asText()).isEqualTo("deny");
        assertThat(line.get("observed").get("reason").asText()).isEqualTo("no-matching-allow");
        assertThat(line.get("observed").get("policy").isNull()).isTrue();
        assertThat(line.get("dry_run").get("decision").asText()).isEqualTo("deny");
        assertThat(line.get("dry_run").get("policy").asText()).isEqualTo("billing/no-delete");
        assertThat(line.get("dry_run").get("rule").asText()).isEqualTo("rules[0]");
        assertThat(JSON.readTree(lines.get(2)).get("source_cluster").isNull()).as("unknown trust domain").isTrue();

        assertThat(metrics.get("isthmus.authz.observe.would.deny").tags("destination", PAYMENTS.host(),
                "source_trust_domain", "a.acme.internal", "reason", "no-matching-allow").counter().count())
                .isEqualTo(2);
        assertThat(metrics.get("isthmus.authz.dry.run.would.deny").tags("destination", PAYMENTS.host(),
                "source_trust_domain", "a.acme.internal", "reason", "explicit-deny", "policy", "billing/no-delete")
                .counter().count()).isEqualTo(2);
        assertThat(metrics.get("isthmus.authz.decisions").tags("decision", "allow").counters())
                .map(c -> c.count()).containsExactly(3.0);
        assertThat(metrics.find("isthmus.authz.decisions").tags("decision", "deny").counters())
                .as("observe mode never denies").isEmpty();
    }

    @Test
    void appendsToAnExistingFile() throws IOException {
        Path file = dir.resolve("audit.jsonl");
        Files.writeString(file, "{\"earlier\":true}\n");
        try (JsonDecisionLog log = new JsonDecisionLog(clock, new FileAuditSink(file), metrics, 16)) {
            log.record(AccessRequest.tcp(CART, PAYMENTS, 1), new Decision.Allowed("a/b", "rules[0]", List.of()));
        }
        assertThat(Files.readAllLines(file)).hasSize(2).first().isEqualTo("{\"earlier\":true}");
    }

    @Test
    void aStuckSinkDropsAndCountsInsteadOfBlockingTheCaller() {
        CountDownLatch release = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger written = new java.util.concurrent.atomic.AtomicInteger();
        AuditSink stuck = lines -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            written.addAndGet(lines.size());
        };
        JsonDecisionLog log = new JsonDecisionLog(clock, stuck, metrics, 4);
        long start = System.nanoTime();
        for (int i = 0; i < 100; i++) {
            log.record(AccessRequest.tcp(CART, PAYMENTS, 1), new Decision.Allowed("a/b", "rules[0]", List.of()));
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
        release.countDown();
        log.close();
        double dropped = metrics.get("isthmus.authz.audit.dropped").counter().count();
        // The writer holds at most one batch (the queue's 4 plus the one it polled) while stuck, then 4 more queue.
        assertThat(dropped).isGreaterThanOrEqualTo(100 - 9);
        assertThat(written.get() + dropped).isEqualTo(100);
        assertThat(metrics.get("isthmus.authz.decisions").counter().count()).isEqualTo(100);
    }
}
