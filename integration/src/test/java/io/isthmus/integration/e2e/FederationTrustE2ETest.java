package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.federation.GatewayClient;
import io.isthmus.integration.federation.GatewayProcess;

/**
 * Three gateways as three operating-system processes on loopback: the federation forms (every gateway holds every
 * peer's bundle), a gateway killed with SIGKILL comes back and catches up, a gateway restarted while all its
 * peers are down still trusts them from the bundles it persisted, and a restart of every gateway re-forms the
 * federation.
 */
class FederationTrustE2ETest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    @Test
    void federationFormsSurvivesKillNineAndRestoresBundlesFromDisk() throws Exception {
        List<ClusterSpec> clusters = Clusters.onLoopback(dir, "alpha", "beta", "gamma");
        try (Federation federation = Federation.prepare(dir, Clusters.appJar(), clusters, Duration.ofSeconds(1),
                (c, p) -> { }, Map.of())) {
            federation.start(Duration.ofSeconds(90));
            GatewayClient api = new GatewayClient(federation.pki().rootCertificate());

            // Federation forms: every gateway's peers group is UP and its bundle API lists all three domains.
            for (GatewayProcess g : federation.gateways()) {
                g.awaitHealth("/q/health/group/peers", Duration.ofSeconds(30));
                assertThat(api.get(g.cluster().apiUrl("/v1/bundles")).body())
                        .contains("alpha.acme.internal", "beta.acme.internal", "gamma.acme.internal");
            }

            // kill -9 beta: alpha notices beta's bundle going stale, naming it; beta restarts and all converge.
            GatewayProcess beta = federation.gateway("beta");
            beta.kill();
            GatewayProcess alpha = federation.gateway("alpha");
            Awaitility.await("alpha reports beta stale").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
                    .until(() -> status(alpha.cluster().managementUrl("/q/health/group/peers")) == 503);
            // The peers group names every peer, fresh or stale: beta's entry must be the stale one, gamma's not.
            String alphaPeers = get(alpha.cluster().managementUrl("/q/health/group/peers"));
            assertThat(PartitionE2ETest.entry(alphaPeers, "beta (beta.acme.internal)")).contains("STALE");
            assertThat(PartitionE2ETest.entry(alphaPeers, "gamma (gamma.acme.internal)")).startsWith("sequence")
                    .doesNotContain("STALE");
            beta.start();
            beta.awaitReady(Duration.ofSeconds(60));
            for (GatewayProcess g : federation.gateways()) {
                g.awaitHealth("/q/health/group/peers", Duration.ofSeconds(30));
            }

            // Every gateway down; alpha alone restarts: its peers' bundles come back from its data directory.
            for (GatewayProcess g : federation.gateways()) {
                g.stop();
            }
            alpha.start();
            alpha.awaitReady(Duration.ofSeconds(60));
            String bundles = api.get(alpha.cluster().apiUrl("/v1/bundles")).body();
            assertThat(bundles).contains("beta.acme.internal", "gamma.acme.internal");
            assertThat(get(alpha.cluster().managementUrl("/q/health/group/peers"))).contains("loaded from disk");

            // The others return too: the whole federation is back, every peer fresh again.
            federation.gateway("beta").start();
            federation.gateway("gamma").start();
            for (GatewayProcess g : federation.gateways()) {
                g.awaitReady(Duration.ofSeconds(90));
                g.awaitHealth("/q/health/group/peers", Duration.ofSeconds(60));
            }
        }
    }

    static String get(String url) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.body();
    }

    static int status(String url) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }
}
