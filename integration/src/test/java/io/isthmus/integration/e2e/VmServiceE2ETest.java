package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.gateway.cli.IsthmusCli;
import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.federation.GatewayClient;
import io.isthmus.integration.federation.SampleService;
import io.isthmus.integration.support.PackagedJars;
import io.isthmus.trust.testing.FreePorts;

/**
 * A VM joins alpha (agent process, one-use token), registers {@code vmsvc.demo} backed by a service on the "VM"
 * (loopback), and heartbeats it. A workload in beta calls {@code vmsvc.demo.svc.clusterset.local} through beta's
 * egress and reaches the VM's service through alpha's ingress, which sees beta's caller identity; an app on the VM
 * calls {@code payments.billing} (exported by beta) through the agent's local egress, and beta's backend sees the
 * VM's SPIFFE ID. Needs the packaged gateway and agent jars of this checkout (bin/test builds them); fails
 * otherwise ({@link PackagedJars}).
 */
class VmServiceE2ETest {
    static final String VMSVC = "vmsvc.demo.svc.clusterset.local";
    static final String PAYMENTS = "payments.billing.svc.clusterset.local";
    static final String BETA_CALLER = "spiffe://beta.acme.internal/ns/shop/sa/checkout";
    static final String VM_ID = "spiffe://alpha.acme.internal/ns/demo/sa/vmsvc-vm";
    static final String ADMIN_TOKEN = "vmsvc-e2e-bootstrap-admin-token-0123456789abcdef";

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private Process agent;

    @AfterEach
    void stop() throws Exception {
        Clusters.stopAll(agent, closeables);
    }

    @Test
    void vmServiceIsCalledFromAnotherClusterAndTheVmCallsAnotherCluster() throws Exception {
        Path agentJar = PackagedJars.agent();
        List<ClusterSpec> clusters = Clusters.onLoopback(dir, "alpha", "beta");
        ClusterSpec alpha = clusters.get(0);
        ClusterSpec beta = clusters.get(1);
        SampleService vmApp = SampleService.start("127.0.0.1", FreePorts.next(), "vm", "vmsvc");
        closeables.add(vmApp);
        SampleService payments = SampleService.start(beta.host(), beta.ports().sample(), "beta", "payments");
        closeables.add(payments);

        Federation federation = Federation.prepare(dir, Clusters.appJar(), clusters, Duration.ofSeconds(2),
                this::configure, Map.of());
        closeables.add(federation);
        long started = System.nanoTime();
        federation.start(Duration.ofSeconds(90));
        String root = federation.pki().rootCertificate().toString();

        // The VM joins alpha and registers vmsvc.demo, backed by the app on the VM.
        String token = createToken(alpha, root, "demo", "vmsvc-vm");
        Path services = Files.writeString(dir.resolve("services.properties"), """
                vmsvc.namespace=demo
                vmsvc.port=80
                vmsvc.protocol=http
                vmsvc.backend-port=%d
                """.formatted(vmApp.port()));
        int localEgress = FreePorts.next();
        Path agentLog = dir.resolve("agent.log");
        agent = new ProcessBuilder(java(), "-jar", agentJar.toString(), "join", "--gateway", alpha.apiUrl(""),
                "--trust-domain", alpha.trustDomain().name(), "--token", token, "--root-ca", root, "--state-dir", dir.resolve("agent").toString(), "--socket",
                dir.resolve("workload.sock").toString(), "--services", services.toString(), "--heartbeat-interval", "2s",
                "--gateway-egress", alpha.host() + ":" + alpha.ports().egress(), "--egress-port",
                Integer.toString(localEgress)).redirectErrorStream(true).redirectOutput(agentLog.toFile()).start();

        // beta's registry learns the VM's service from alpha.
        GatewayClient api = new GatewayClient(federation.pki().rootCertificate());
        // API calls that fail (a connect timeout on a loaded machine) are retried, never taken for an answer.
        Awaitility.await("beta's registry holds alpha's VM export").atMost(Duration.ofSeconds(40))
                .pollInterval(Duration.ofMillis(500)).ignoreExceptionsInstanceOf(IOException.class).until(() -> {
                    if (!agent.isAlive()) {
                        throw new IllegalStateException("agent exited: " + Files.readString(agentLog));
                    }
                    return api.get(beta.apiUrl("/v1/services/" + VMSVC)).body();
                }, b -> b.contains("\"cluster\":\"alpha\"") && b.contains(VM_ID));

        // A workload in beta calls the VM's service by mesh name through beta's egress.
        Workload checkout = Workload.issue(federation.pki(), BETA_CALLER);
        String betaEgress = beta.host() + ":" + beta.ports().egress();
        Workload.Response toVm = Awaitility.await("beta -> VM").atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(300))
                .until(() -> checkout.get(betaEgress, VMSVC, "/orders"), r -> r.status() == 200);
        assertThat(toVm.body()).contains("\"cluster\":\"vm\"").contains("\"caller\":\"" + BETA_CALLER + "\"");
        assertThat(vmApp.lastClientCert()).hasValueSatisfying(x -> assertThat(x).contains(BETA_CALLER));

        // An app on the VM calls beta's service through the agent's local egress.
        Awaitility.await("beta's export reaches alpha").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(500)).ignoreExceptionsInstanceOf(IOException.class)
                .until(() -> api.get(alpha.apiUrl("/v1/services/" + PAYMENTS)).body(), b -> b.contains("\"cluster\":\"beta\""));
        HttpResponse<String> fromVm;
        try (HttpClient app = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .proxy(java.net.ProxySelector.of(new java.net.InetSocketAddress("127.0.0.1", localEgress))).build()) {
            fromVm = Awaitility.await("VM -> beta").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300))
                    .ignoreExceptionsInstanceOf(IOException.class)
                    .until(() -> app.send(HttpRequest.newBuilder(URI.create("http://" + PAYMENTS + "/charge?amount=3"))
                            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()),
                            r -> r.statusCode() == 200);
        }
        assertThat(fromVm.body()).contains("\"cluster\":\"beta\"").contains("\"caller\":\"" + VM_ID + "\"");
        assertThat(payments.lastClientCert()).hasValueSatisfying(x -> assertThat(x).contains(VM_ID));
        System.out.printf("VM service e2e: both directions within %d ms of starting the gateways%n",
                (System.nanoTime() - started) / 1_000_000);

        // The agent is stopped (SIGTERM, as systemd does): it unregisters, so the export is gone everywhere long
        // before its lease would have run out (the last heartbeat was about 2 s ago; the lease is 30 s, so an
        // expiry could not happen before about 28 s), and alpha removed it on the agent's request, not by expiry.
        long stopping = System.nanoTime();
        agent.destroy();
        assertThat(agent.waitFor(20, TimeUnit.SECONDS)).as("agent stops on SIGTERM").isTrue();
        Awaitility.await("the VM's export leaves beta's registry").atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(200)).ignoreExceptionsInstanceOf(IOException.class)
                .until(() -> api.get(beta.apiUrl("/v1/services/" + VMSVC)).statusCode(), status -> status == 404);
        assertThat(Files.readString(agentLog)).contains("unregistered vmsvc.demo");
        assertThat(Files.readString(alpha.logFile())).as("alpha's log")
                .doesNotContain("VM service demo/vmsvc of " + VM_ID + " expired");
        System.out.printf("VM service e2e: export gone from beta %d ms after SIGTERM to the agent%n",
                (System.nanoTime() - stopping) / 1_000_000);
    }

    /** A join token for {@code namespace/serviceAccount} from {@code cluster}'s admin API, by the operator CLI. */
    static String createToken(ClusterSpec cluster, String root, String namespace, String serviceAccount) {
        PrintStream oldOut = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            exit = IsthmusCli.run("token", "create", "--gateway", cluster.apiUrl(""), "--trust-domain",
                    cluster.trustDomain().name(), "--admin-token-file",
                    cluster.dir().resolve("admin.token").toString(), "--root-ca", root, "--namespace", namespace,
                    "--service-account", serviceAccount, "--ttl", "15m");
        } finally {
            System.setOut(oldOut);
        }
        assertThat(exit).as(out.toString(StandardCharsets.UTF_8)).isZero();
        return out.toString(StandardCharsets.UTF_8).lines().findFirst().orElseThrow();
    }

    private void configure(ClusterSpec c, Map<String, String> p) {
        // Far above the heartbeat interval (2 s), so that only an unregistration can remove the export in time.
        p.put("isthmus.agent-services.lease", "30s");
        String policy;
        if (c.name().equals("alpha")) {
            try {
                Files.createDirectories(c.dir());
                Files.writeString(c.dir().resolve("admin.token"), ADMIN_TOKEN + "\n");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            p.put("isthmus.admin.bootstrap-token-file", c.dir().resolve("admin.token").toString());
            policy = """
                    apiVersion: security.isthmus.io/v1alpha1
                    kind: AuthorizationPolicy
                    metadata: {name: vmsvc-from-beta, namespace: demo}
                    spec:
                      action: ALLOW
                      selector: {services: [vmsvc]}
                      rules:
                      - from:
                        - source: {principals: ["%s"]}
                    """.formatted(BETA_CALLER);
        } else {
            p.put("isthmus.registry.static-exports.payments.namespace", "billing");
            p.put("isthmus.registry.static-exports.payments.ports", "http:80");
            p.put("isthmus.registry.static-exports.payments.identities",
                    "spiffe://" + c.trustDomain().name() + "/ns/billing/sa/payments");
            p.put("isthmus.proxy.backends.\"" + PAYMENTS + "\"", c.host() + ":" + c.ports().sample());
            policy = """
                    apiVersion: security.isthmus.io/v1alpha1
                    kind: AuthorizationPolicy
                    metadata: {name: payments-from-vm, namespace: billing}
                    spec:
                      action: ALLOW
                      selector: {services: [payments]}
                      rules:
                      - from:
                        - source: {principals: ["%s"]}
                    """.formatted(VM_ID);
        }
        try {
            Files.createDirectories(c.dir());
            Files.writeString(c.dir().resolve("policies.yaml"), policy);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        p.put("isthmus.authz.policy-file", c.dir().resolve("policies.yaml").toString());
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}
