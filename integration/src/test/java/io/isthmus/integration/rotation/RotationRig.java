package io.isthmus.integration.rotation;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.gateway.cli.IsthmusCli;
import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.federation.GatewayClient;
import io.isthmus.integration.federation.SampleService;
import io.isthmus.integration.support.Repo;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.ca.RootsSource;
import io.isthmus.trust.files.AtomicFiles;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.x509.Pem;

/**
 * A local federation set up for rotations under traffic: short SVID lifetimes (so that a retirement comes within a
 * test), fast bundle refresh and rotation clock, a bootstrap admin token per cluster, each cluster exporting
 * {@code hello-<cluster>.demo} (HTTP) served by a sample service, and policies allowing the demo workloads and VM.
 * Runs the operator CLI in this JVM ({@link #cli}) and reads the admin API ({@link #rotation}).
 */
final class RotationRig implements AutoCloseable {
    /**
     * A retirement waits this (plus the clock skew) after an activation: short, since the rotation tests wait for it
     * up to four times, yet twice the renewal spread and a few JVM start-ups on a loaded machine (SVIDs renew at half
     * life).
     */
    static final Duration SVID_TTL = Duration.ofSeconds(20);
    static final String ADMIN_TOKEN = "rotation-e2e-bootstrap-admin-token-0123456789abcdef";
    static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final Federation federation;
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final Map<String, ClusterSpec> clusters = new LinkedHashMap<>();
    private final GatewayClient api;

    private RotationRig(Path dir, Federation federation, List<ClusterSpec> specs) {
        this.dir = dir;
        this.federation = federation;
        specs.forEach(c -> clusters.put(c.name(), c));
        // Admin calls carry the bearer token; a reader SVID would be signed by the intermediate this rig retires.
        this.api = GatewayClient.withoutCertificate(federation.pki().rootCertificate());
    }

    static Path appJar() {
        return Repo.root().resolve("federation-gateway/target/quarkus-app/quarkus-run.jar");
    }

    /**
     * Starts one gateway per name, every one a peer of every other; {@code extra} adds or overrides properties.
     */
    static RotationRig start(Path dir, java.util.function.BiConsumer<ClusterSpec, Map<String, String>> extra,
            String... names) throws Exception {
        List<ClusterSpec> specs = new ArrayList<>();
        for (String name : names) {
            specs.add(new ClusterSpec(name, TrustDomain.parse(name + ".acme.internal"), "127.0.0.1",
                    new ClusterSpec.Ports(FreePorts.next(), FreePorts.next(), FreePorts.next(), FreePorts.next(),
                            FreePorts.next(), FreePorts.next(), FreePorts.next(), FreePorts.next()), dir.resolve(name)));
        }
        List<SampleService> samples = new ArrayList<>();
        for (ClusterSpec c : specs) {
            samples.add(SampleService.start(c.host(), c.ports().sample(), c.name(), "hello"));
        }
        Federation federation = Federation.prepare(dir, appJar(), specs, Duration.ofSeconds(1), (c, p) -> {
            configure(c, p);
            extra.accept(c, p);
        }, Map.of());
        RotationRig rig = new RotationRig(dir, federation, specs);
        rig.closeables.addAll(samples);
        rig.closeables.add(federation);
        federation.start(Duration.ofSeconds(120));
        for (ClusterSpec c : specs) {
            federation.gateway(c.name()).awaitHealth("/q/health/group/peers", Duration.ofSeconds(60));
        }
        return rig;
    }

    private static void configure(ClusterSpec c, Map<String, String> p) {
        p.put("isthmus.ca.svid-ttl", SVID_TTL.toSeconds() + "s");
        p.put("isthmus.ca.clock-skew", "2s");
        p.put("isthmus.ca.reload-interval", "500ms");
        p.put("isthmus.rotation.tick", "500ms");
        p.put("isthmus.rotation.agent-refresh", "3s");
        p.put("isthmus.rotation.peer-status-timeout", "3s");
        p.put("isthmus.enrolment.rate-limit.burst", "100");
        p.put("isthmus.agent-services.lease", "10s");
        String backend = c.host() + ":" + c.ports().sample();
        p.put("isthmus.registry.static-exports.hello-" + c.name() + ".namespace", "demo");
        p.put("isthmus.registry.static-exports.hello-" + c.name() + ".ports", "http:80");
        p.put("isthmus.registry.static-exports.hello-" + c.name() + ".identities",
                "spiffe://" + c.trustDomain().name() + "/ns/demo/sa/hello");
        p.put("isthmus.proxy.backends.\"hello-" + c.name() + ".demo.svc.clusterset.local\"", backend);
        try {
            Files.createDirectories(c.dir());
            Files.writeString(c.dir().resolve("admin.token"), ADMIN_TOKEN + "\n");
            Files.writeString(c.dir().resolve("policies.yaml"), """
                    apiVersion: security.isthmus.io/v1alpha1
                    kind: AuthorizationPolicy
                    metadata: {name: demo-callers, namespace: demo}
                    spec:
                      action: ALLOW
                      rules:
                      - from:
                        - source: {principals: ["*/ns/demo/sa/client", "*/ns/demo/sa/vm"]}
                    """);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        p.put("isthmus.admin.bootstrap-token-file", c.dir().resolve("admin.token").toString());
        p.put("isthmus.authz.policy-file", c.dir().resolve("policies.yaml").toString());
    }

    Federation federation() {
        return federation;
    }

    ClusterSpec cluster(String name) {
        return clusters.get(name);
    }

    Path dir() {
        return dir;
    }

    /** The root file every gateway, agent and workload here reads (watched, so changes apply without restarts). */
    Path rootFile() {
        return federation.pki().rootCertificate();
    }

    /** The roots in the root file right now (read per call: workloads follow the file as the gateways do). */
    RootsSource roots() {
        return () -> new FederationRoots(Pem.readCertificates(rootFile()));
    }

    /** Replaces the root file in one rename, as a configuration push (or a Secret update) would. */
    void writeRoots(List<X509Certificate> roots) throws IOException {
        AtomicFiles.write(rootFile(), Pem.write(roots.toArray()));
    }

    String egress(String cluster) {
        ClusterSpec c = clusters.get(cluster);
        return c.host() + ":" + c.ports().egress();
    }

    /** A join token for {@code spiffe://<cluster td>/ns/demo/sa/<serviceAccount>} created with the CLI. */
    String token(String cluster, String serviceAccount) {
        return cli("token", "create", "--gateway", clusters.get(cluster).apiUrl(""), "--trust-domain",
                clusters.get(cluster).trustDomain().name(), "--admin-token-file",
                adminToken(cluster), "--root-ca", rootFile().toString(), "--namespace", "demo", "--service-account",
                serviceAccount, "--ttl", "15m").lines().findFirst().orElseThrow();
    }

    TestWorkload workload(String cluster, String serviceAccount) throws Exception {
        TestWorkload w = TestWorkload.enrol(URI.create(clusters.get(cluster).apiUrl("")),
                clusters.get(cluster).trustDomain(), token(cluster, serviceAccount), roots(), dir.resolve("workloads").resolve(cluster + "-" + serviceAccount));
        closeables.add(w);
        return w;
    }

    String adminToken(String cluster) {
        return clusters.get(cluster).dir().resolve("admin.token").toString();
    }

    /** The admin connection options of the CLI for {@code cluster}. */
    List<String> adminOptions(String cluster) {
        return List.of("--gateway", clusters.get(cluster).apiUrl(""), "--trust-domain",
                clusters.get(cluster).trustDomain().name(), "--admin-token-file", adminToken(cluster),
                "--root-ca", rootFile().toString());
    }

    /** Runs the operator CLI; fails the test unless it exits 0; returns what it printed. */
    String cli(String... args) {
        CliRun run = cliRun(args);
        assertThat(run.exit()).as("isthmus %s%n%s", String.join(" ", args), run.output()).isZero();
        return run.output();
    }

    record CliRun(int exit, String output) {
    }

    /** Runs the operator CLI in this JVM (stdout and stderr captured together); several may run at once. */
    static CliRun cliRun(String... args) {
        java.io.StringWriter out = new java.io.StringWriter();
        int exit;
        try (java.io.PrintWriter w = new java.io.PrintWriter(out, true)) {
            exit = IsthmusCli.run(w, args);
        }
        return new CliRun(exit, out.toString());
    }

    /**
     * What every gateway logged about its trust, its rotation and its registry, the registry bridge's suspicions and
     * merges included (no access or audit lines, at most the last 60 lines each): the diagnosis of a call that failed
     * during a rotation.
     */
    String trustAndRegistryLog() {
        StringBuilder out = new StringBuilder();
        java.util.regex.Pattern wanted = java.util.regex.Pattern.compile(
                "WARN|ERROR|rotation of|registry|XSITE|bundle|SVID|purge|refus|restarted at the same address|no longer holds|merge");
        for (ClusterSpec c : clusters.values()) {
            List<String> lines;
            try {
                lines = Files.readAllLines(c.logFile()).stream().filter(l -> wanted.matcher(l).find())
                        .filter(l -> !l.contains("[ist.access]") && !l.contains("[ist.aut.audit]")).toList();
            } catch (IOException e) {
                lines = List.of("(no log: " + e.getMessage() + ")");
            }
            out.append("--- ").append(c.name()).append('\n');
            lines.subList(Math.max(0, lines.size() - 60), lines.size())
                    .forEach(l -> out.append(l, 0, Math.min(l.length(), 300)).append('\n'));
        }
        return out.toString();
    }

    /** {@code GET /v1/admin/rotation} of {@code cluster}: its rotation, its status and every peer's. */
    JsonNode rotation(String cluster) throws IOException, InterruptedException {
        HttpResponse<String> r = api.send(HttpRequest.newBuilder(URI.create(clusters.get(cluster).apiUrl(
                "/v1/admin/rotation"))).header("Authorization", "Bearer " + ADMIN_TOKEN).timeout(Duration.ofSeconds(20))
                .GET().build());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    /** {@code POST} to the admin API of {@code cluster}; the raw answer. */
    HttpResponse<String> post(String cluster, String path, String body) throws IOException, InterruptedException {
        return api.send(HttpRequest.newBuilder(URI.create(clusters.get(cluster).apiUrl(path)))
                .header("Authorization", "Bearer " + ADMIN_TOKEN).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(20)).POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    /** The VM agent as a separate process, enrolled at {@code cluster}; its extra arguments appended. */
    Process startAgent(String cluster, String serviceAccount, Path log, String... extra) throws IOException {
        Path agentJar = Repo.root().resolve("vm-agent/target/isthmus-agent.jar");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", agentJar.toString(), "join", "--gateway", clusters.get(cluster).apiUrl(""), "--trust-domain",
                clusters.get(cluster).trustDomain().name(), "--token",
                token(cluster, serviceAccount), "--root-ca", rootFile().toString(), "--state-dir",
                dir.resolve("agent").toString(), "--socket", dir.resolve("workload.sock").toString(), "--trust-refresh",
                "1s", "--early-renew-spread", "2s", "--root-reload-interval", "500ms"));
        command.addAll(List.of(extra));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        closeables.add(() -> {
            p.destroy();
            if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        });
        return p;
    }

    void closeLater(AutoCloseable c) {
        closeables.add(c);
    }

    @Override
    public void close() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            try {
                c.close();
            } catch (Exception e) {
                // keep closing the rest
            }
        }
    }
}
