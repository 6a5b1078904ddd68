package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.support.NetworkNamespaces;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;

/**
 * Each cluster in its own network namespace; one is cut off (its link goes down) and healed. Proves that a
 * partition is seen for what it is on both sides (the cut-off peer is reported stale, by name, while the others
 * stay healthy with each other) and that the federation converges when the link returns.
 */
class PartitionE2ETest {

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    @Test
    void partitionedClusterIsReportedStaleOnBothSidesAndConvergesOnHeal() throws Exception {
        Assumptions.assumeTrue(NetworkNamespaces.available(), "network namespaces need root (CAP_NET_ADMIN)");
        List<String> names = List.of("alpha", "beta", "gamma");
        try (NetworkNamespaces net = NetworkNamespaces.create(77, names)) {
            List<ClusterSpec> clusters = new ArrayList<>();
            for (String n : names) {
                clusters.add(new ClusterSpec(n, TrustDomain.parse(n + ".acme.internal"), net.address(n),
                        new ClusterSpec.Ports(FreePorts.next(), FreePorts.next(), FreePorts.next(), FreePorts.next(),
                                FreePorts.next(), FreePorts.next(), FreePorts.next(), FreePorts.next()),
                        dir.resolve(n)));
            }
            try (Federation federation = Federation.prepare(dir, Clusters.appJar(), clusters, Duration.ofSeconds(1),
                    (c, p) -> { }, net.namespaces())) {
                federation.start(Duration.ofSeconds(90));
                for (var g : federation.gateways()) {
                    g.awaitHealth("/q/health/group/peers", Duration.ofSeconds(30));
                }
                ClusterSpec alpha = federation.config().cluster("alpha");
                ClusterSpec gamma = federation.config().cluster("gamma");

                net.partition("gamma");
                // alpha (majority side) names gamma as stale and still has beta fresh.
                Awaitility.await("alpha sees gamma stale").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
                        .until(() -> FederationTrustE2ETest.status(alpha.managementUrl("/q/health/group/peers")) == 503);
                String alphaPeers = FederationTrustE2ETest.get(alpha.managementUrl("/q/health/group/peers"));
                assertThat(line(alphaPeers, "gamma (gamma.acme.internal)")).contains("STALE");
                assertThat(line(alphaPeers, "beta (beta.acme.internal)")).startsWith("sequence").doesNotContain("STALE");
                // gamma (cut off; its process is probed from inside its namespace) keeps its persisted bundles.
                assertThat(gammaSideStale(gamma)).isTrue();

                net.heal("gamma");
                for (var g : federation.gateways()) {
                    g.awaitHealth("/q/health/group/peers", Duration.ofSeconds(30));
                }
            }
        }
    }

    /** The value of one peer's entry in the health check's JSON data. */
    private static String line(String healthJson, String peer) {
        int at = healthJson.indexOf("\"" + peer + "\"");
        assertThat(at).as("health output names %s: %s", peer, healthJson).isNotNegative();
        int start = healthJson.indexOf('"', healthJson.indexOf(':', at) + 1) + 1;
        return healthJson.substring(start, healthJson.indexOf('"', start));
    }

    /** Asks gamma's own health endpoint from inside gamma's namespace, where it is still reachable. */
    private static boolean gammaSideStale(ClusterSpec gamma) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            Process p = new ProcessBuilder("ip", "netns", "exec", NetworkNamespaces.namespaceOf("gamma"),
                    "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", gamma.managementUrl("/q/health/group/peers"))
                    .redirectErrorStream(true).start();
            String code = new String(p.getInputStream().readAllBytes()).trim();
            p.waitFor();
            if (code.equals("503")) {
                return true;
            }
            Thread.sleep(500);
        }
        return false;
    }
}
