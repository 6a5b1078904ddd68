package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.federation.GatewayClient;
import io.isthmus.integration.support.MockKubernetes;
import io.isthmus.integration.support.NetworkNamespaces;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;

/**
 * Each cluster in its own network namespace (veth pairs on a bridge, created and removed here); gamma is cut off
 * and healed. Proves that both sides keep serving what they can and converge on heal: the majority side names
 * gamma as stale (and gamma names both peers) while alpha and beta stay healthy with each other; an export made
 * in alpha's Kubernetes during the partition reaches beta at once and gamma only after the heal; alpha still
 * calls beta's service, and gamma's workloads still call gamma's own service, while the link is down.
 */
class PartitionE2ETest {
    private static final String LEDGER = "ledger.billing.svc.clusterset.local";
    private static final String LOCAL = "local.demo.svc.clusterset.local";
    private static final String ALPHA_CLIENT = "spiffe://alpha.acme.internal/ns/demo/sa/client";

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    @Test
    void bothSidesKeepServingDuringAPartitionAndConvergeOnHeal() throws Exception {
        NetworkNamespaces.assumeAvailable();
        List<String> names = List.of("alpha", "beta", "gamma");
        List<Process> backends = new ArrayList<>();
        try (NetworkNamespaces net = NetworkNamespaces.create(names);
                MockKubernetes alphaApi = MockKubernetes.start(net.bridgeAddress())) {
            List<ClusterSpec> clusters = new ArrayList<>();
            for (String n : names) {
                clusters.add(new ClusterSpec(n, TrustDomain.parse(n + ".acme.internal"), net.address(n),
                        new ClusterSpec.Ports(FreePorts.next(), FreePorts.next(), FreePorts.next(), FreePorts.next(),
                                FreePorts.next(), FreePorts.next(), FreePorts.next(), FreePorts.next()),
                        dir.resolve(n)));
            }
            // Each cluster's backends run inside its own namespace, so a cut-off cluster still reaches them.
            for (ClusterSpec c : clusters) {
                Files.createDirectories(c.dir());
                backends.add(sampleIn(net, c, c.name().equals("gamma") ? "local" : "ledger"));
            }
            try (Federation federation = Federation.prepare(dir, Clusters.appJar(), clusters, Duration.ofSeconds(1),
                    (c, p) -> configure(c, p, alphaApi), net.namespaces())) {
                federation.start(Duration.ofSeconds(120));
                for (var g : federation.gateways()) {
                    g.awaitHealth("/q/health/group/peers", Duration.ofSeconds(30));
                }
                GatewayClient api = new GatewayClient(federation.pki().rootCertificate());
                ClusterSpec alpha = federation.config().cluster("alpha");
                ClusterSpec beta = federation.config().cluster("beta");
                ClusterSpec gamma = federation.config().cluster("gamma");
                Workload alphaClient = Workload.issue(federation.pki(), ALPHA_CLIENT);
                String alphaEgress = alpha.host() + ":" + alpha.ports().egress();
                Workload.Response first = Awaitility.await("alpha calls beta's ledger").atMost(Duration.ofSeconds(60))
                        .pollInterval(Duration.ofMillis(500))
                        .until(() -> alphaClient.get(alphaEgress, LEDGER, "/"), r -> r.body().contains("\"cluster\":\"beta\""));
                assertThat(first.served()).as("%s", first).contains(Workload.Served.by("beta", ALPHA_CLIENT));

                net.partition("gamma");
                // Majority side: gamma stale by name, beta fresh.
                Awaitility.await("alpha sees gamma stale").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
                        .until(() -> FederationTrustE2ETest.status(alpha.managementUrl("/q/health/group/peers")) == 503);
                String alphaPeers = FederationTrustE2ETest.get(alpha.managementUrl("/q/health/group/peers"));
                assertThat(entry(alphaPeers, "gamma (gamma.acme.internal)")).contains("STALE");
                assertThat(entry(alphaPeers, "beta (beta.acme.internal)")).startsWith("sequence").doesNotContain("STALE");
                // Cut-off side, asked from inside its namespace: it names its peers stale and keeps their bundles.
                Awaitility.await("gamma sees its peers stale").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
                        .until(() -> inGamma(net, gamma, "-o", "/dev/null", "-w", "%{http_code}",
                                gamma.managementUrl("/q/health/group/peers")).equals("503"));

                // An export made in alpha during the partition reaches beta, not gamma.
                alphaApi.export("shop", "orders", 8080, 1, "spiffe://alpha.acme.internal/ns/shop/sa/orders");
                Awaitility.await("beta sees orders").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
                        .ignoreExceptions()
                        .until(() -> RegistryE2ETest.export(api, beta, "alpha", "shop", "orders").isPresent());
                Path gammaClient = writeWorkload(federation, "spiffe://gamma.acme.internal/ns/demo/sa/client");
                assertThat(inGamma(net, gamma, "--cert", gammaClient + ".pem", "--key", gammaClient + ".key",
                        gamma.apiUrl("/v1/services?cluster=alpha")))
                        .as("gamma's registry, asked inside its namespace").startsWith("[").doesNotContain("\"orders\"");

                // Both sides keep serving: alpha -> beta across the majority side; gamma's workload -> gamma.
                Workload.Response across = alphaClient.get(alphaEgress, LEDGER, "/");
                assertThat(across.served()).as("%s", across).contains(Workload.Served.by("beta", ALPHA_CLIENT));
                String local = inGamma(net, gamma, "--cert", gammaClient + ".pem", "--key", gammaClient + ".key",
                        "-H", "Host: " + LOCAL, "https://" + gamma.host() + ":" + gamma.ports().egress() + "/");
                assertThat(local).contains("\"cluster\":\"gamma\"").contains("spiffe://gamma.acme.internal/ns/demo/sa/client");

                net.heal("gamma");
                for (var g : federation.gateways()) {
                    g.awaitHealth("/q/health/group/peers", Duration.ofSeconds(30));
                }
                Awaitility.await("gamma receives orders after the heal").atMost(Duration.ofSeconds(60))
                        .pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                        .until(() -> RegistryE2ETest.export(api, gamma, "alpha", "shop", "orders").isPresent());
            }
        } finally {
            for (Process p : backends) {
                p.destroyForcibly();
            }
        }
    }

    private static void configure(ClusterSpec c, Map<String, String> p, MockKubernetes alphaApi) {
        String service = c.name().equals("gamma") ? "local" : "ledger";
        if (!c.name().equals("alpha")) {
            p.put("isthmus.registry.static-exports." + service + ".namespace", service.equals("local") ? "demo" : "billing");
            p.put("isthmus.registry.static-exports." + service + ".ports", "http:80");
            p.put("isthmus.proxy.backends.\"" + (service.equals("local") ? LOCAL : LEDGER) + "\"",
                    c.host() + ":" + c.ports().sample());
        } else {
            p.putAll(alphaApi.gatewayProperties());
        }
        Path policy = Clusters.allowDemoClients(c.dir());
        p.put("isthmus.authz.policy-file", policy.toString());
    }

    /** A sample service as a separate process inside the cluster's namespace. */
    private static Process sampleIn(NetworkNamespaces net, ClusterSpec c, String service) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ProcessBuilder("ip", "netns", "exec", net.namespaceOf(c.name()), java, "-cp",
                System.getProperty("java.class.path"), "io.isthmus.integration.federation.SampleService", c.host(),
                Integer.toString(c.ports().sample()), c.name(), service)
                .redirectErrorStream(true).redirectOutput(c.dir().getParent().resolve(c.name() + "-sample.log").toFile())
                .start();
    }

    private static Path writeWorkload(Federation federation, String id) throws IOException {
        Path base = federation.pki().rootCertificate().getParent().resolve("workload-" + id.hashCode());
        Workload.writeFiles(federation.pki(), id, base);
        return base;
    }

    /** curl run inside gamma's namespace (where gamma is still reachable while cut off). */
    private static String inGamma(NetworkNamespaces net, ClusterSpec gamma, String... args)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", net.namespaceOf(gamma.name()),
                "curl", "-sk", "--max-time", "5"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        return out.trim();
    }

    /** The value of one peer's entry in the health check's JSON data. */
    static String entry(String healthJson, String peer) {
        int at = healthJson.indexOf("\"" + peer + "\"");
        assertThat(at).as("health output names %s: %s", peer, healthJson).isNotNegative();
        int start = healthJson.indexOf('"', healthJson.indexOf(':', at) + 1) + 1;
        return healthJson.substring(start, healthJson.indexOf('"', start));
    }
}
