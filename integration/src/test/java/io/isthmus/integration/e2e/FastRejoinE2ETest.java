package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.federation.GatewayClient;
import io.isthmus.integration.federation.GatewayProcess;
import io.isthmus.integration.support.MockKubernetes;

/**
 * Two gateway processes (alpha, beta), each an Infinispan site over the TLS bridge, each reading its own Kubernetes
 * API (the fabric8 mock server in CRUD mode). Proves over real processes, with the production failure-detection
 * timings (20 s): beta, restarted after a clean stop and again after {@code kill -9}, receives an export alpha made
 * while it was down within {@link #REJOIN} of being ready again, and an export it makes then reaches alpha within
 * {@link #REJOIN} too: well inside the bridge's failure detection, so the restarted site master replaced its dead
 * predecessor rather than waiting for it to be suspected. Also proves that a normal start and a clean stop log no
 * ERROR and no stack trace.
 */
class FastRejoinE2ETest {
    private static final Duration REJOIN = Duration.ofSeconds(5);
    private static final Duration DEADLINE = Duration.ofSeconds(60);
    /** A console line at ERROR (the gateway's format: time, level, [category]). */
    private static final Pattern ERROR = Pattern.compile("^\\S+ ERROR ");
    /** A stack trace's frame or cause line. */
    private static final Pattern TRACE = Pattern.compile("^(\\s+at \\S+\\(|Caused by: |\\s+\\.\\.\\. \\d+ more)");

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    private final Map<String, MockKubernetes> apis = new HashMap<>();
    private Federation federation;

    @AfterEach
    void stopApis() {
        apis.values().forEach(MockKubernetes::close);
    }

    @Test
    void aRestartedSiteCatchesUpWithinSecondsAfterACleanStopAndAfterKill9() throws Exception {
        List<ClusterSpec> clusters = Clusters.onLoopback(dir, "alpha", "beta");
        for (String name : List.of("alpha", "beta")) {
            apis.put(name, MockKubernetes.start("127.0.0.1"));
        }
        try (Federation federation = this.federation = Federation.prepare(dir, Clusters.appJar(), clusters, Duration.ofSeconds(2),
                (c, p) -> {
                    p.putAll(apis.get(c.name()).gatewayProperties());
                    // Heartbeats far apart, so that only replication and cross-site state transfer can bring an
                    // update within REJOIN, never the owner's next heartbeat.
                    p.put("isthmus.registry.heartbeat-interval", "40s");
                    p.put("isthmus.registry.lease-ttl", "120s");
                    // One replica per cluster: no Lease to wait for. With it, a replica started after kill -9 waits
                    // out its dead predecessor's Lease (15 s, ExportLeadershipTest) before it writes its exports,
                    // which is the Kubernetes source's handover, not replication.
                    p.put("isthmus.registry.kubernetes.leader-election.enabled", "false");
                }, Map.of())) {
            federation.start(Duration.ofSeconds(120));
            GatewayClient api = new GatewayClient(federation.pki().rootCertificate());
            ClusterSpec alpha = federation.config().cluster("alpha");
            ClusterSpec beta = federation.config().cluster("beta");
            GatewayProcess betaGateway = federation.gateway("beta");

            apis.get("alpha").export("shop", "first", 8080, 1, "spiffe://alpha.acme.internal/ns/shop/sa/first");
            awaitExport(api, beta, "alpha", "first", DEADLINE);

            betaGateway.stop();
            rejoin(api, alpha, beta, betaGateway, "after-stop");
            assertQuiet(beta, "a normal start and a clean stop");
            assertQuiet(alpha, "a peer's clean stop and restart");

            betaGateway.kill();
            rejoin(api, alpha, beta, betaGateway, "after-kill");
        }
    }

    /** beta is down: alpha exports {@code name}; beta starts, sees it and exports its own, each within REJOIN. */
    private void rejoin(GatewayClient api, ClusterSpec alpha, ClusterSpec beta, GatewayProcess betaGateway, String name)
            throws Exception {
        apis.get("alpha").export("shop", "a-" + name, 8080, 1, "spiffe://alpha.acme.internal/ns/shop/sa/a");
        awaitExport(api, alpha, "alpha", "a-" + name, DEADLINE);
        long started = System.nanoTime();
        betaGateway.start();
        betaGateway.awaitReady(Duration.ofSeconds(90));
        long ready = System.nanoTime();
        awaitExport(api, beta, "alpha", "a-" + name, REJOIN);
        long received = System.nanoTime();
        apis.get("beta").export("shop", "b-" + name, 8080, 1, "spiffe://beta.acme.internal/ns/shop/sa/b");
        long exported = System.nanoTime();
        awaitExport(api, alpha, "beta", "b-" + name, REJOIN);
        System.out.printf("rejoin %s: start to ready %d ms, ready to alpha's update %d ms, beta's update to alpha %d ms%n",
                name, (ready - started) / 1_000_000, (received - ready) / 1_000_000,
                (System.nanoTime() - exported) / 1_000_000);
    }

    private void awaitExport(GatewayClient api, ClusterSpec at, String cluster, String name, Duration within)
            throws IOException {
        try {
            Awaitility.await(cluster + "'s " + name + " reaches " + at.name()).atMost(within)
                    .pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                    .until(() -> RegistryE2ETest.export(api, at, cluster, "shop", name).isPresent());
        } catch (ConditionTimeoutException e) {
            // What each side's bridge saw, and the last of each log: the temp dir is gone once CI is.
            StringBuilder why = new StringBuilder(e.getMessage());
            for (ClusterSpec c : federation.config().clusters()) {
                List<String> log = Files.readAllLines(c.logFile());
                why.append("\n").append(c.name()).append("'s registry: ").append(RegistryE2ETest.registryHealth(c))
                        .append("\n").append(c.name()).append("'s last log lines:\n")
                        .append(String.join("\n", log.subList(Math.max(0, log.size() - 25), log.size())));
            }
            throw new AssertionError(why.toString(), e);
        }
    }

    /** Everything {@code cluster}'s gateway logged so far: no ERROR line, no stack trace. */
    private static void assertQuiet(ClusterSpec cluster, String what) throws Exception {
        List<String> lines = Files.readAllLines(cluster.logFile());
        assertThat(offending(lines, ERROR)).as("%s: %s's log holds no ERROR", what, cluster.name()).isEmpty();
        assertThat(offending(lines, TRACE)).as("%s: %s's log holds no stack trace", what, cluster.name()).isEmpty();
    }

    /** Each line matching {@code pattern}, with the three lines before it, so that a failure shows what logged it. */
    private static List<String> offending(List<String> lines, Pattern pattern) {
        List<String> shown = new ArrayList<>();
        for (int i = 0; i < lines.size() && shown.size() < 60; i++) {
            if (pattern.matcher(lines.get(i)).find()) {
                for (int j = Math.max(0, i - 3); j <= i; j++) {
                    shown.add((j + 1) + ": " + lines.get(j));
                }
            }
        }
        return shown;
    }
}
