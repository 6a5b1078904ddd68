package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.federation.FederationPki;
import io.isthmus.integration.federation.GatewayClient;
import io.isthmus.integration.federation.GatewayProcess;
import io.isthmus.integration.federation.SampleService;
import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.federation.BundleEndpointServer;
import io.isthmus.trust.membership.HostPort;
import io.isthmus.trust.membership.Member;
import io.isthmus.trust.membership.Membership;
import io.isthmus.trust.membership.MembershipCodec;
import io.isthmus.trust.membership.MembershipJws;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.testing.SignedDocuments;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.x509.Pem;

/**
 * The federation's membership changes at run time, over real gateway processes on loopback. alpha, beta and gamma
 * serve traffic to each other; each exports {@code echo-<cluster>.demo}, which only {@code demo/client} identities
 * may call. Proves, in order:
 * <ol>
 * <li>delta, started knowing only its own intermediate, the root and alpha's address (the seed), joins when a
 * root-signed version 2 that lists it is handed to beta: within a measured bound delta holds every peer bundle and
 * they hold delta's, delta's export is callable by mesh name from all three and delta calls theirs; no gateway
 * restarted (same PIDs) and the traffic between the first three never failed;</li>
 * <li>bad documents handed to alpha (unsigned, signed by an intermediate, an older version replayed, a member whose
 * intermediate is not under the root, duplicate names) are refused with their named reason and every member still
 * holds version 2;</li>
 * <li>delta (frozen with SIGSTOP, so it cannot cooperate) is removed by version 3 handed to gamma: within a measured
 * bound no one routes to it, its SVIDs are refused at every ingress, and the others closed their bridge connections
 * with it (delta's own sockets were left half-closed by them);</li>
 * <li>gamma, stopped during versions 4 and 5, catches up to version 5 when it starts again.</li>
 * </ol>
 */
class FederationMembershipE2ETest {
    static final String ADMIN_TOKEN = "membership-e2e-bootstrap-admin-token-0123456789";
    static final List<String> FIRST = List.of("alpha", "beta", "gamma");
    static final Duration BOUND = Duration.ofSeconds(40);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    private final Map<String, SampleService> backends = new HashMap<>();
    private final List<AutoCloseable> closers = new ArrayList<>();
    private Federation federation;
    private GatewayClient api;
    /** alpha first: the seed of delta. */
    private List<ClusterSpec> specs;

    @AfterEach
    void stop() throws Exception {
        backends.values().forEach(SampleService::close);
        for (AutoCloseable c : closers) {
            c.close();
        }
    }

    static String meshName(String cluster) {
        return "echo-" + cluster + ".demo.svc.clusterset.local";
    }

    @Test
    void aClusterJoinsAndLeavesARunningFederationWithoutARestart() throws Exception {
        List<ClusterSpec> clusters = Clusters.onLoopback(dir, "alpha", "beta", "gamma", "delta");
        specs = clusters;
        for (ClusterSpec c : clusters) {
            backends.put(c.name(), SampleService.start(c.host(), c.ports().sample(), c.name(), "echo-" + c.name()));
        }
        federation = Federation.prepare(dir, Clusters.appJar(), clusters, Duration.ofSeconds(2), this::configure, Map.of());
        closers.add(federation);
        api = new GatewayClient(federation.pki().rootCertificate());
        for (String name : FIRST) {
            federation.gateway(name).start();
        }
        for (String name : FIRST) {
            federation.gateway(name).awaitReady(Duration.ofSeconds(120));
        }
        Map<String, Workload> clients = new LinkedHashMap<>();
        for (ClusterSpec c : clusters) {
            clients.put(c.name(), Workload.issue(federation.pki(), "spiffe://" + c.trustDomain().name() + "/ns/demo/sa/client"));
        }
        // Warm: each of the first three calls the next one's service.
        for (int i = 0; i < 3; i++) {
            String from = FIRST.get(i);
            String to = FIRST.get((i + 1) % 3);
            Awaitility.await(from + " calls " + to).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300))
                    .until(() -> call(clients, from, to).status() == 200);
        }
        Map<String, Long> pids = new LinkedHashMap<>();
        FIRST.forEach(n -> pids.put(n, federation.gateway(n).pid()));

        // Version 1: the three, as their static peers already say; handed to alpha, it spreads.
        push("alpha", sign(membership(1, FIRST)), 200);
        awaitVersion(FIRST, 1, Duration.ofSeconds(30));

        // Traffic between the first three runs through everything that follows until delta has joined.
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        AtomicBoolean running = new AtomicBoolean(true);
        int[] calls = {0};
        Thread traffic = Thread.ofVirtual().start(() -> {
            while (running.get()) {
                for (int i = 0; i < 3 && running.get(); i++) {
                    String from = FIRST.get(i);
                    String to = FIRST.get((i + 1) % 3);
                    Workload.Response r = call(clients, from, to);
                    calls[0]++;
                    if (r.status() != 200 || !r.body().contains("\"cluster\":\"" + to + "\"")) {
                        failures.add(Instant.now() + " " + from + "->" + to + ": " + r.status() + " " + r.body());
                    }
                }
            }
        });

        // delta joins: started with the seed only, then version 2 (with delta) handed to beta.
        GatewayProcess delta = federation.gateway("delta");
        delta.start();
        delta.awaitReady(Duration.ofSeconds(120));
        ClusterSpec deltaSpec = federation.config().cluster("delta");
        long pushedAt = System.nanoTime();
        push("beta", sign(membership(2, List.of("alpha", "beta", "gamma", "delta"))), 200);
        Map<String, Long> joined = new LinkedHashMap<>();
        awaitAll("delta joined", joined, pushedAt, Map.of(
                "delta holds every peer bundle", () -> holdsBundles("delta", FIRST),
                "every peer holds delta's bundle", () -> FIRST.stream().allMatch(n -> holdsBundles(n, List.of("delta"))),
                "alpha, beta and gamma call delta by mesh name", () -> FIRST.stream()
                        .allMatch(n -> call(clients, n, "delta").status() == 200),
                "delta calls alpha, beta and gamma", () -> FIRST.stream()
                        .allMatch(n -> call(clients, "delta", n).status() == 200)));
        Workload.Response fromAlpha = call(clients, "alpha", "delta");
        assertThat(fromAlpha.body()).contains("\"cluster\":\"delta\"")
                .contains("\"caller\":\"spiffe://alpha.acme.internal/ns/demo/sa/client\"");
        assertThat(call(clients, "delta", "gamma").body()).contains("\"caller\":\"spiffe://delta.acme.internal/ns/demo/sa/client\"");
        awaitVersion(List.of("alpha", "beta", "gamma", "delta"), 2, Duration.ofSeconds(10));
        // What `isthmus federation status` shows: each member's own answer, asked by the member the operator talks to.
        JsonNode status = JSON.readTree(admin("gamma", "/v1/admin/federation/status").body());
        assertThat(status.path("members").findValuesAsText("name")).containsExactlyInAnyOrder("alpha", "beta", "gamma", "delta");
        status.path("members").forEach(m -> assertThat(m.path("version").asLong()).as(m.toString()).isEqualTo(2));
        running.set(false);
        traffic.join();
        System.out.printf("membership e2e: join of delta after version 2 was handed to beta: %s ms (total %d ms);"
                + " %d calls between the first three, %d failed%n", joined, (System.nanoTime() - pushedAt) / 1_000_000,
                calls[0], failures.size());
        assertThat(failures).as("calls between alpha, beta and gamma that failed while delta joined").isEmpty();
        FIRST.forEach(n -> assertThat(federation.gateway(n).pid()).as("pid of " + n).isEqualTo(pids.get(n)));
        assertThat(calls[0]).isGreaterThan(10);

        refusesBadDocuments();

        // delta leaves. It is frozen first, so whatever is closed is closed by the others.
        Workload deltaGateway = Workload.issue(federation.pki(),
                "spiffe://delta.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
        for (String n : FIRST) {
            assertThat(deltaGateway.get(federation.config().cluster(n).ingressAddress(), meshName(n), "/").status())
                    .as("delta's gateway SVID is accepted at %s's ingress before the removal", n).isPositive();
        }
        assertThat(bridgeConnectionsOf(delta.pid(), deltaSpec)).as("delta's bridge connections before removal").isPositive();
        signal("STOP", delta.pid());
        closers.add(0, () -> signal("CONT", delta.pid()));
        long removedAt = System.nanoTime();
        push("gamma", sign(membership(3, FIRST)), 200);
        Map<String, Long> removed = new LinkedHashMap<>();
        awaitAll("delta removed", removed, removedAt, Map.of(
                "no one routes to delta", () -> FIRST.stream().allMatch(n -> !knowsExport(n, "delta")
                        && call(clients, n, "delta").status() != 200),
                "delta's SVIDs are refused at every ingress", () -> FIRST.stream().allMatch(n -> deltaGateway
                        .get(federation.config().cluster(n).ingressAddress(), meshName(n), "/").status() == -1),
                "the others closed their bridge connections with delta",
                () -> bridgeConnectionsOf(delta.pid(), deltaSpec) == 0));
        System.out.printf("membership e2e: removal of delta after version 3 was handed to gamma: %s ms%n", removed);
        signal("CONT", delta.pid());
        awaitVersion(FIRST, 3, Duration.ofSeconds(10));
        FIRST.forEach(n -> assertThat(federation.gateway(n).pid()).as("pid of " + n).isEqualTo(pids.get(n)));

        // gamma is down during versions 4 and 5; it catches up to 5 when it starts again.
        GatewayProcess gamma = federation.gateway("gamma");
        gamma.stop();
        List<String> withZeta = new ArrayList<>(FIRST);
        withZeta.add("zeta");
        push("alpha", sign(membership(4, withZeta)), 200);
        push("beta", sign(membership(5, FIRST)), 200);
        awaitVersion(List.of("alpha", "beta"), 5, Duration.ofSeconds(20));
        long restartedAt = System.nanoTime();
        gamma.start();
        gamma.awaitReady(Duration.ofSeconds(120));
        awaitVersion(List.of("gamma"), 5, BOUND);
        System.out.printf("membership e2e: gamma held version 5 %d ms after its restart began%n",
                (System.nanoTime() - restartedAt) / 1_000_000);
        Awaitility.await("gamma serves alpha again").atMost(BOUND).pollInterval(Duration.ofMillis(500))
                .until(() -> call(clients, "alpha", "gamma").status() == 200);
    }

    /** Each refused with its reason; every member still holds version 2. */
    private void refusesBadDocuments() throws Exception {
        List<String> four = List.of("alpha", "beta", "gamma", "delta");
        FederationPki pki = federation.pki();
        FederationPki.Intermediate alphaCa = pki.intermediate(TrustDomain.parse("alpha.acme.internal"));
        CaCredential alphaIntermediate = new CaCredential(Pem.readPrivateKey(alphaCa.key()), Pem.readCertificates(alphaCa.chain()));
        String twoAlphas = new MembershipCodec().toJson(membership(3, four))
                .replace("\"name\":\"beta\"", "\"name\":\"alpha\"");

        // A cluster whose intermediate comes from another root, serving a real bundle endpoint.
        TestCa foreign = TestCa.create();
        CaCredential rogueCa = foreign.intermediate("rogue.acme.internal");
        X509Svid rogueSvid = TestCa.svid(rogueCa, "spiffe://rogue.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
        BundleEndpointServer rogue = BundleEndpointServer.start(new InetSocketAddress("127.0.0.1", 0), () -> rogueSvid,
                () -> new TrustBundle(TrustDomain.parse("rogue.acme.internal"), List.of(rogueCa.certificate()), List.of(), 1,
                        Optional.empty()), new BundleCodec());
        closers.add(rogue);
        Member rogueMember = new Member("rogue", TrustDomain.parse("rogue.acme.internal"),
                URI.create("https://127.0.0.1:" + rogue.address().getPort() + "/"), List.of(HostPort.parse("127.0.0.1:1")),
                HostPort.parse("127.0.0.1:2"), List.of(SpiffeId.parse("spiffe://rogue.acme.internal/ns/isthmus-system/sa/isthmus-gateway")),
                "", "");

        Map<String, String> rows = new LinkedHashMap<>();
        rows.put("unsigned", new MembershipCodec().toJson(membership(3, four)));
        rows.put("signed-by-intermediate", MembershipJws.sign(membership(3, four), alphaIntermediate.key(),
                alphaIntermediate.certificate()));
        rows.put("version-not-newer", sign(membership(1, FIRST)));
        rows.put("member-not-under-root", sign(membership(3, four).with(rogueMember, 3, Instant.now())));
        rows.put("duplicate-name", SignedDocuments.sign(twoAlphas, pki.root().key(), pki.root().certificate()));
        for (Map.Entry<String, String> row : rows.entrySet()) {
            HttpResponse<String> r = push("alpha", row.getValue(), -1);
            assertThat(r.statusCode()).as("%s: %s", row.getKey(), r.body()).isIn(409, 422);
            assertThat(JSON.readTree(r.body()).path("code").asText()).as(r.body()).isEqualTo(row.getKey());
            System.out.printf("membership e2e: refused %s: %s%n", row.getKey(), JSON.readTree(r.body()).path("detail").asText());
        }
        awaitVersion(four, 2, Duration.ofSeconds(5));
    }

    // ---- documents ----

    private Membership membership(long version, List<String> names) throws IOException {
        List<Member> members = new ArrayList<>();
        for (String n : names) {
            if (n.equals("zeta")) {
                members.add(new Member("zeta", TrustDomain.parse("zeta.acme.internal"),
                        URI.create("https://127.0.0.1:" + FreePorts.next() + "/"), List.of(HostPort.parse("127.0.0.1:"
                                + FreePorts.next())), HostPort.parse("127.0.0.1:" + FreePorts.next()),
                        List.of(SpiffeId.parse("spiffe://zeta.acme.internal/ns/isthmus-system/sa/isthmus-gateway")), "", ""));
                continue;
            }
            ClusterSpec c = federation.config().cluster(n);
            members.add(new Member(n, c.trustDomain(), URI.create(c.bundleEndpointUrl()),
                    List.of(HostPort.parse(c.host() + ":" + c.ports().xsite())), HostPort.parse(c.ingressAddress()),
                    List.of(SpiffeId.ofServiceAccount(c.trustDomain(), "isthmus-system", "isthmus-gateway")), "eu-west", ""));
        }
        return new Membership(version, Instant.now(), members);
    }

    private String sign(Membership m) {
        return MembershipJws.sign(m, federation.pki().root().key(), federation.pki().root().certificate());
    }

    // ---- the gateways, as an operator and a workload see them ----

    private HttpResponse<String> push(String at, String document, int expect) throws Exception {
        ClusterSpec c = federation.config().cluster(at);
        HttpResponse<String> r = api.send(HttpRequest.newBuilder(URI.create(c.apiUrl("/v1/admin/federation/membership")))
                .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + ADMIN_TOKEN)
                .PUT(HttpRequest.BodyPublishers.ofString(document)).build());
        if (expect > 0) {
            assertThat(r.statusCode()).as("%s took the document: %s", at, r.body()).isEqualTo(expect);
        }
        return r;
    }

    private HttpResponse<String> admin(String at, String path) throws IOException, InterruptedException {
        ClusterSpec c = federation.config().cluster(at);
        return api.send(HttpRequest.newBuilder(URI.create(c.apiUrl(path))).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + ADMIN_TOKEN).GET().build());
    }

    private long versionAt(String cluster) {
        try {
            HttpResponse<String> r = admin(cluster, "/v1/admin/federation/membership");
            return r.statusCode() == 200 ? JSON.readTree(r.body()).path("version").asLong(0) : -1;
        } catch (IOException | InterruptedException e) {
            return -1;
        }
    }

    private void awaitVersion(List<String> clusters, long version, Duration within) {
        Awaitility.await(clusters + " hold membership version " + version).atMost(within)
                .pollInterval(Duration.ofMillis(200)).until(() -> clusters.stream().allMatch(c -> versionAt(c) == version));
    }

    /** Whether {@code at} holds a bundle of each of {@code of} (its trust status, next to its bundle endpoint). */
    private boolean holdsBundles(String at, List<String> of) {
        try {
            ClusterSpec c = federation.config().cluster(at);
            HttpResponse<String> r = api.get(c.bundleEndpointUrl() + "v1/trust-status");
            JsonNode bundles = JSON.readTree(r.body()).path("bundles");
            return of.stream().allMatch(n -> bundles.has(n + ".acme.internal"));
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private boolean knowsExport(String at, String owner) {
        try {
            HttpResponse<String> r = api.get(federation.config().cluster(at).apiUrl("/v1/services/" + meshName(owner)));
            return r.statusCode() == 200 && r.body().contains("\"cluster\":\"" + owner + "\"");
        } catch (IOException | InterruptedException e) {
            return true;
        }
    }

    private Workload.Response call(Map<String, Workload> clients, String from, String to) {
        ClusterSpec c = federation.config().cluster(from);
        return clients.get(from).get(c.host() + ":" + c.ports().egress(), meshName(to), "/hello");
    }

    /**
     * delta's sockets in state ESTABLISHED on a bridge: its own bridge port, or another cluster's. delta is frozen
     * while this matters, so only the other side can have taken one out of ESTABLISHED (its FIN leaves delta's socket in
     * CLOSE-WAIT).
     */
    private int bridgeConnectionsOf(long pid, ClusterSpec deltaSpec) {
        Set<Integer> bridgePorts = new java.util.HashSet<>();
        federation.config().clusters().forEach(c -> bridgePorts.add(c.ports().xsite()));
        try {
            Process ss = new ProcessBuilder("ss", "-Htnp", "state", "established").redirectErrorStream(true).start();
            String out = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            ss.waitFor();
            int n = 0;
            for (String line : out.split("\n")) {
                if (!line.contains("pid=" + pid + ",")) {
                    continue;
                }
                String[] f = line.trim().split("\\s+");
                int local = port(f[2]);
                int peer = port(f[3]);
                if (local == deltaSpec.ports().xsite() || bridgePorts.contains(peer)) {
                    n++;
                }
            }
            return n;
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("ss failed: " + e, e);
        }
    }

    private static int port(String address) {
        return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
    }

    private static void signal(String signal, long pid) throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start().waitFor();
    }

    /** Waits until every condition holds, recording for each when it first held (ms after {@code since}). */
    private static void awaitAll(String what, Map<String, Long> firstHeld, long since, Map<String, BooleanSupplier> conditions) {
        Awaitility.await(what).atMost(BOUND).pollInterval(Duration.ofMillis(250)).until(() -> {
            conditions.forEach((name, c) -> {
                if (!firstHeld.containsKey(name) && c.getAsBoolean()) {
                    firstHeld.put(name, (System.nanoTime() - since) / 1_000_000);
                }
            });
            return firstHeld.keySet().containsAll(conditions.keySet());
        });
    }

    // ---- configuration ----

    private void configure(ClusterSpec c, Map<String, String> p) {
        p.put("isthmus.federation.poll-interval", "2s");
        p.put("isthmus.federation.probe-timeout", "3s");
        p.put("isthmus.registry.locality.region", "eu-west");
        p.put("isthmus.proxy.locality.region", "eu-west");
        p.put("isthmus.registry.static-exports.echo-" + c.name() + ".namespace", "demo");
        p.put("isthmus.registry.static-exports.echo-" + c.name() + ".ports", "http:80");
        p.put("isthmus.registry.static-exports.echo-" + c.name() + ".identities",
                "spiffe://" + c.trustDomain().name() + "/ns/demo/sa/echo");
        p.put("isthmus.proxy.backends.\"" + meshName(c.name()) + "\"", c.host() + ":" + c.ports().sample());
        try {
            Files.createDirectories(c.dir());
            Files.writeString(c.dir().resolve("admin.token"), ADMIN_TOKEN + "\n");
            Path policy = Files.writeString(c.dir().resolve("policies.yaml"), """
                    apiVersion: security.isthmus.io/v1alpha1
                    kind: AuthorizationPolicy
                    metadata: {name: echo-from-clients, namespace: demo}
                    spec:
                      action: ALLOW
                      rules:
                      - from:
                        - source: {principals: ["*/ns/demo/sa/client"]}
                    """);
            p.put("isthmus.authz.policy-file", policy.toString());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        p.put("isthmus.admin.bootstrap-token-file", c.dir().resolve("admin.token").toString());
        if (c.name().equals("delta")) {
            // A new cluster knows nobody but the seed.
            p.keySet().removeIf(k -> k.startsWith("isthmus.peers.") || k.startsWith("isthmus.registry.peers."));
            p.put("isthmus.federation.seed", specs.get(0).bundleEndpointUrl());
        } else {
            p.keySet().removeIf(k -> k.startsWith("isthmus.peers.delta.") || k.startsWith("isthmus.registry.peers.delta."));
        }
    }
}
