package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.federation.GatewayClient;
import io.isthmus.integration.federation.GatewayProcess;
import io.isthmus.integration.support.MockKubernetes;

/**
 * Three gateway processes, each an Infinispan site over TLS bridges; alpha and beta read their own Kubernetes API
 * (the fabric8 mock server in CRUD mode). Proves over real processes: a ServiceExport in alpha reaches beta and
 * gamma with its ports and readiness and becomes a ServiceImport in beta; readiness changes travel; a gateway
 * killed with SIGKILL misses changes (an export added, one removed) and converges when it restarts.
 */
class RegistryE2ETest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration DEADLINE = Duration.ofSeconds(60);

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    private final Map<String, MockKubernetes> apis = new HashMap<>();

    @AfterEach
    void stopApis() {
        apis.values().forEach(MockKubernetes::close);
    }

    @Test
    void kubernetesExportsReplicateToEverySiteAndAKilledSiteConvergesOnRestart() throws Exception {
        List<ClusterSpec> clusters = Clusters.onLoopback(dir, "alpha", "beta", "gamma");
        for (String name : List.of("alpha", "beta")) {
            apis.put(name, MockKubernetes.start("127.0.0.1"));
        }
        try (Federation federation = Federation.prepare(dir, Clusters.appJar(), clusters, Duration.ofSeconds(2),
                (c, p) -> Optional.ofNullable(apis.get(c.name())).ifPresent(k -> p.putAll(k.gatewayProperties())),
                Map.of())) {
            federation.start(Duration.ofSeconds(120));
            GatewayClient api = new GatewayClient(federation.pki().rootCertificate());
            ClusterSpec beta = federation.config().cluster("beta");
            ClusterSpec gamma = federation.config().cluster("gamma");
            MockKubernetes alphaApi = apis.get("alpha");

            alphaApi.export("billing", "ledger", 8080, 2, "spiffe://alpha.acme.internal/ns/billing/sa/ledger");
            for (ClusterSpec c : List.of(beta, gamma)) {
                Awaitility.await("ledger reaches " + c.name()).atMost(DEADLINE).pollInterval(Duration.ofMillis(300))
                        .ignoreExceptions()
                        .until(() -> export(api, c, "alpha", "billing", "ledger"),
                                e -> e.isPresent() && e.get().path("readyEndpoints").asInt() == 2);
            }
            JsonNode ledger = export(api, gamma, "alpha", "billing", "ledger").orElseThrow();
            assertThat(ledger.path("meshName").asText()).isEqualTo("ledger.billing.svc.clusterset.local");
            assertThat(ledger.path("ports").get(0).path("port").asInt()).isEqualTo(8080);
            assertThat(ledger.path("ports").get(0).path("protocol").asText()).isEqualTo("http");
            assertThat(ledger.path("identities").get(0).asText()).isEqualTo("spiffe://alpha.acme.internal/ns/billing/sa/ledger");
            assertThat(ledger.path("routable").asBoolean()).isTrue();
            Awaitility.await("beta writes a ServiceImport for ledger").atMost(DEADLINE)
                    .until(() -> apis.get("beta").serviceImport("billing", "ledger") != null);

            alphaApi.setReadyEndpoints("billing", "ledger", 0);
            Awaitility.await("beta sees ledger not ready").atMost(DEADLINE).pollInterval(Duration.ofMillis(300))
                    .ignoreExceptions()
                    .until(() -> export(api, beta, "alpha", "billing", "ledger"),
                            e -> e.isPresent() && e.get().path("readyEndpoints").asInt() == 0
                                    && !e.get().path("routable").asBoolean());

            // gamma dies; alpha adds cart and removes ledger meanwhile; gamma restarts and converges.
            GatewayProcess gammaGateway = federation.gateway("gamma");
            gammaGateway.kill();
            alphaApi.export("shop", "cart", 9090, 1, "spiffe://alpha.acme.internal/ns/shop/sa/cart");
            alphaApi.unexport("billing", "ledger");
            Awaitility.await("beta sees the changes").atMost(DEADLINE).pollInterval(Duration.ofMillis(300))
                    .ignoreExceptions()
                    .until(() -> export(api, beta, "alpha", "shop", "cart").isPresent()
                            && export(api, beta, "alpha", "billing", "ledger").isEmpty());
            gammaGateway.start();
            gammaGateway.awaitReady(Duration.ofSeconds(90));
            Awaitility.await("gamma converges after restart").atMost(DEADLINE).pollInterval(Duration.ofMillis(500))
                    .ignoreExceptions()
                    .until(() -> export(api, gamma, "alpha", "shop", "cart").isPresent()
                            && export(api, gamma, "alpha", "billing", "ledger").isEmpty());
            Awaitility.await("beta removes the ServiceImport of ledger").atMost(DEADLINE)
                    .until(() -> apis.get("beta").serviceImport("billing", "ledger") == null);
        }
    }

    /**
     * The export of {@code cluster}/{@code namespace}/{@code name} as {@code at}'s registry API shows it; empty only
     * when the API listed the namespace (200, a JSON array) without it. Anything else throws, so that an API error,
     * a TLS failure or a 5xx never counts as "the export is gone": waits poll it with {@code ignoreExceptions()}.
     */
    static Optional<JsonNode> export(GatewayClient api, ClusterSpec at, String cluster, String namespace, String name)
            throws IOException, InterruptedException {
        HttpResponse<String> r = api.get(at.apiUrl("/v1/services?cluster=" + cluster + "&namespace=" + namespace));
        JsonNode list = r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
        if (list == null || !list.isArray()) {
            throw new IllegalStateException(at.name() + "'s registry API answered " + r.statusCode() + ", not a list: "
                    + r.body());
        }
        for (JsonNode e : list) {
            if (e.path("name").asText().equals(name)) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    /**
     * {@code at}'s registry readiness data (its bridge's view of the sites, the last update from each, what its bridge
     * refused), or why it could not be read: for a failure message, which link a missing replication lacks.
     */
    static String registryHealth(ClusterSpec at) {
        try {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            String body = http.send(HttpRequest.newBuilder(URI.create(at.managementUrl("/q/health/ready")))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
            for (JsonNode check : JSON.readTree(body).path("checks")) {
                if ("isthmus-registry".equals(check.path("name").asText())) {
                    return check.path("data").toString();
                }
            }
            return "no isthmus-registry check in " + body;
        } catch (IOException e) {
            return "unreachable: " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "(interrupted)";
        }
    }
}
