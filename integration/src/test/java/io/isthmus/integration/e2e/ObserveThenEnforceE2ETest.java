package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.gateway.cli.IsthmusCli;
import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.federation.GatewayClient;
import io.isthmus.integration.federation.SampleService;
import io.isthmus.proxy.authz.audit.DecisionLogReader;
import io.isthmus.proxy.authz.audit.DecisionRecord;
import io.isthmus.trust.testing.FreePorts;

/**
 * From observe to enforce, over three gateway processes. gamma serves orders.shop (HTTP) and ledger.billing (TCP,
 * a real echo server), both in observe mode by a mode policy; workloads of alpha and beta call them through their
 * own cluster's egress. Proves, in order on one federation: (1) in observe mode mixed traffic (several callers,
 * methods, paths with ids, an L4 tunnel) goes through, and gamma's decision log records each request with both
 * clusters and the denial the policies would have made, counted by destination and source trust domain;
 * (2) {@code isthmus authz suggest} turns that log into policies and {@code simulate} finds nothing observed that
 * they would deny (and fails a tighter candidate); (3) with the suggestion enforced, all observed traffic still
 * works while a caller and a method never seen are denied; (4) a dry-run DENY counts would-be denials and changes
 * nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ObserveThenEnforceE2ETest {
    static final String ORDERS = "orders.shop.svc.clusterset.local";
    static final String LEDGER = "ledger.billing.svc.clusterset.local";
    static final String CHECKOUT = "spiffe://alpha.acme.internal/ns/shop/sa/checkout";
    static final String REPORTING = "spiffe://alpha.acme.internal/ns/analytics/sa/reporting";
    static final String CART = "spiffe://beta.acme.internal/ns/shop/sa/cart";
    static final String INTRUDER = "spiffe://alpha.acme.internal/ns/shop/sa/intruder";
    static final String OBSERVE = """
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: observe, namespace: shop}
            spec: {mode: OBSERVE}
            ---
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: observe, namespace: billing}
            spec: {mode: OBSERVE}
            """;

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    static Path dir;

    private Federation federation;
    private SampleService orders;
    private EchoServer ledger;
    private ClusterSpec gamma;
    private Workload checkout;
    private Workload cart;
    private Workload reporting;
    private Workload intruder;
    private String alphaEgress;
    private String betaEgress;
    /** What was sent in observe mode, to be sent again once the suggestion is enforced. */
    private final List<Call> observed = new ArrayList<>();
    private Path suggested;

    /** One request of a workload through its egress: HTTP, or an L4 tunnel carrying {@code target}'s bytes. */
    record Call(Workload who, String egress, String method, String host, String target) {
        Workload.Response send() {
            if (method.equals("CONNECT")) {
                return who.tunnel(egress, host + ":" + target, "ping " + who.id() + "\n");
            }
            return who.call(egress, method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 0"
                    + "\r\nConnection: close\r\n\r\n");
        }

        /** 200 with the sample backend seeing this caller, or the tunnel echoing what was sent. */
        boolean worked(Workload.Response r) {
            if (method.equals("CONNECT")) {
                return r.status() == 200 && r.body().equals("ping " + who.id() + "\n");
            }
            return r.status() == 200 && r.served().map(s -> s.caller().equals(who.id().toString())).orElse(false);
        }

        @Override
        public String toString() {
            return who.id() + " " + method + " " + host + " " + target;
        }
    }

    @BeforeAll
    void startFederation() throws Exception {
        List<ClusterSpec> clusters = Clusters.onLoopback(dir, "alpha", "beta", "gamma");
        gamma = clusters.get(2);
        orders = SampleService.start(gamma.host(), gamma.ports().sample(), "gamma", "orders");
        ledger = EchoServer.start(gamma.host(), FreePorts.next());
        federation = Federation.prepare(dir, Clusters.appJar(), clusters, Duration.ofSeconds(2), this::configure,
                Map.of());
        federation.start(Duration.ofSeconds(120));
        alphaEgress = clusters.get(0).host() + ":" + clusters.get(0).ports().egress();
        betaEgress = clusters.get(1).host() + ":" + clusters.get(1).ports().egress();
        GatewayClient api = new GatewayClient(federation.pki().rootCertificate());
        for (ClusterSpec caller : clusters.subList(0, 2)) {
            for (String service : List.of(ORDERS, LEDGER)) {
                Awaitility.await(caller.name() + " knows gamma's " + service).atMost(Duration.ofSeconds(60))
                        .pollInterval(Duration.ofMillis(500)).ignoreExceptionsInstanceOf(IOException.class)
                        .until(() -> api.get(caller.apiUrl("/v1/services/" + service)).body(),
                                b -> b.contains("\"cluster\":\"gamma\""));
            }
        }
        checkout = Workload.issue(federation.pki(), CHECKOUT);
        reporting = Workload.issue(federation.pki(), REPORTING);
        cart = Workload.issue(federation.pki(), CART);
        intruder = Workload.issue(federation.pki(), INTRUDER);
    }

    private void configure(ClusterSpec c, Map<String, String> p) {
        if (!c.name().equals("gamma")) {
            return;
        }
        String td = c.trustDomain().name();
        p.put("isthmus.registry.static-exports.orders.namespace", "shop");
        p.put("isthmus.registry.static-exports.orders.ports", "http:80");
        p.put("isthmus.registry.static-exports.orders.identities", "spiffe://" + td + "/ns/shop/sa/orders");
        p.put("isthmus.registry.static-exports.ledger.namespace", "billing");
        p.put("isthmus.registry.static-exports.ledger.ports", "db:5432:tcp");
        p.put("isthmus.registry.static-exports.ledger.identities", "spiffe://" + td + "/ns/billing/sa/ledger");
        p.put("isthmus.proxy.backends.\"" + ORDERS + "\"", c.host() + ":" + c.ports().sample());
        p.put("isthmus.proxy.backends.\"" + LEDGER + "\"", c.host() + ":" + ledger.port());
        try {
            Files.createDirectories(c.dir());
            Files.writeString(policyFile(), OBSERVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        p.put("isthmus.authz.policy-file", policyFile().toString());
        p.put("isthmus.authz.policy-file-poll-interval", "200ms");
        p.put("isthmus.authz.audit-log.path", auditLog().toString());
    }

    private Path policyFile() {
        return gamma.dir().resolve("policies.yaml");
    }

    private Path auditLog() {
        return gamma.dir().resolve("audit.jsonl");
    }

    @AfterAll
    void stop() throws IOException {
        keepTheDecisionLog();
        if (federation != null) {
            federation.close();
        }
        if (orders != null) {
            orders.close();
        }
        if (ledger != null) {
            ledger.close();
        }
    }

    @Test
    @Order(1)
    void observeModeLetsMixedTrafficThroughAndLogsWhatThePoliciesWouldDecide() throws Exception {
        Random random = new Random(15);
        for (int i = 0; i < 12; i++) {
            observed.add(new Call(checkout, alphaEgress, "GET", ORDERS, "/orders/" + (1000 + random.nextInt(9000))));
        }
        for (int i = 0; i < 3; i++) {
            observed.add(new Call(checkout, alphaEgress, "GET", ORDERS, "/orders/"
                    + new UUID(random.nextLong(), random.nextLong()) + "/items"));
            observed.add(new Call(checkout, alphaEgress, "POST", ORDERS, "/orders"));
            observed.add(new Call(cart, betaEgress, "GET", ORDERS, "/orders/" + random.nextInt(100)));
            observed.add(new Call(reporting, alphaEgress, "CONNECT", LEDGER, "5432"));
        }
        observed.add(new Call(cart, betaEgress, "GET", ORDERS, "/health"));
        for (Call c : observed) {
            Workload.Response r = c.send();
            assertThat(c.worked(r)).as("%s: %s", c, r).isTrue();
        }
        assertThat(ledger.connections()).isEqualTo(3);

        List<DecisionRecord> records = Awaitility.await("gamma logs every request").atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(200)).until(this::decisions, d -> d.size() >= observed.size());
        assertThat(records).hasSize(observed.size()).allSatisfy(r -> {
            assertThat(r.observing()).isTrue();
            assertThat(r.served()).isTrue();
            assertThat(r.observed()).hasValueSatisfying(v -> assertThat(v.reason()).isEqualTo("no-matching-allow"));
            assertThat(r.destinationCluster()).contains("gamma");
            assertThat(r.sourceCluster()).contains(r.caller().trustDomain().name().replace(".acme.internal", ""));
        });
        assertThat(records).filteredOn(DecisionRecord::tcp).hasSize(3)
                .allSatisfy(r -> assertThat(r.port()).isEqualTo(5432));
        assertThat(records).filteredOn(r -> r.sourceCluster().orElse("").equals("beta")).hasSize(4);

        List<String> lines = Files.readAllLines(auditLog());
        System.out.println("$ tail -1 gamma/audit.jsonl   # an observed request\n" + lines.get(lines.size() - 1));
        String metrics = federation.gateway("gamma").cluster().managementUrl("/q/metrics");
        System.out.println("$ curl -s gamma:8080/q/metrics | grep would_deny\n"
                + samples(metrics, "isthmus_authz_observe_would_deny_total"));
        assertThat(metric(metrics, "isthmus_authz_observe_would_deny_total", "destination", ORDERS,
                "source_trust_domain", "alpha.acme.internal", "reason", "no-matching-allow")).isEqualTo(18);
        assertThat(metric(metrics, "isthmus_authz_observe_would_deny_total", "destination", ORDERS,
                "source_trust_domain", "beta.acme.internal")).isEqualTo(4);
        assertThat(metric(metrics, "isthmus_authz_observe_would_deny_total", "destination", LEDGER)).isEqualTo(3);
    }

    @Test
    @Order(2)
    void suggestWritesPoliciesThatSimulateFindsDenyNothingObserved() throws IOException {
        suggested = dir.resolve("suggested");
        Cli s = Cli.run("authz", "suggest", "--log", auditLog().toString(), "--since", "1h", "--out",
                suggested.toString());
        assertThat(s.exit()).as(s.err()).isZero();
        String policies = Files.readString(suggested.resolve("policies.yaml"));
        System.out.println("$ isthmus authz suggest --log gamma/audit.jsonl --since 1h\n" + policies);
        assertThat(policies).contains("name: \"suggested-orders\"", "name: \"suggested-ledger\"",
                "- \"" + CHECKOUT + "\"  # 18 requests", "- \"" + CART + "\"  # 4 requests",
                "- \"" + REPORTING + "\"  # 3 requests", "- \"/orders/{*}\"", "- \"/orders/{*}/items\"  # 3",
                "methods: [\"POST\"]", "ports: [5432]", "orders.shop /orders/{*} <- ");
        try (Stream<Path> crds = Files.list(suggested.resolve("crds"))) {
            assertThat(crds.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("shop.orders.yaml",
                    "billing.ledger.yaml");
        }

        Cli sim = Cli.run("authz", "simulate", "--policy", suggested.resolve("policies.yaml").toString(), "--log",
                auditLog().toString(), "--since", "1h");
        System.out.println("$ isthmus authz simulate --policy suggested/policies.yaml --log gamma/audit.jsonl "
                + "--since 1h\n" + sim.out());
        assertThat(sim.exit()).as(sim.out() + sim.err()).isZero();
        assertThat(sim.out()).contains("0 newly denied, 0 newly allowed", "OK: the candidate denies nothing");

        Path withoutCart = dir.resolve("without-cart.yaml");
        Files.writeString(withoutCart, policies.replace("\"" + CART + "\"",
                "\"spiffe://beta.acme.internal/ns/shop/sa/other\""));
        Cli fails = Cli.run("authz", "simulate", "--policy", withoutCart.toString(), "--log", auditLog().toString(),
                "--since", "1h");
        System.out.println("$ isthmus authz simulate --policy without-cart.yaml ...  (exit " + fails.exit() + ")\n"
                + fails.out());
        assertThat(fails.exit()).isEqualTo(3);
        assertThat(fails.out()).contains("NEWLY DENIED", CART + " -> " + ORDERS + ": 4 requests, now deny "
                + "no-matching-allow (was allow shop/observe spec.mode)");
    }

    @Test
    @Order(3)
    void enforcedTheSuggestionKeepsObservedTrafficAndDeniesWhatWasNeverSeen() throws Exception {
        replace(policyFile(), Files.readString(suggested.resolve("policies.yaml")));
        Call stranger = new Call(intruder, alphaEgress, "GET", ORDERS, "/orders/1000");
        Workload.Response denied = Awaitility.await("gamma enforces the suggestion").atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(200)).until(stranger::send, r -> r.status() == 403);
        assertThat(denied.header("x-isthmus-reason")).as("a caller never seen").contains("no-matching-allow");

        for (Call c : observed) {
            Workload.Response r = c.send();
            assertThat(c.worked(r)).as("observed before, enforced now: %s: %s", c, r).isTrue();
        }
        Call newId = new Call(checkout, alphaEgress, "GET", ORDERS, "/orders/424242");
        assertThat(newId.worked(newId.send())).as("an id never seen, in a generalized position").isTrue();

        Workload.Response delete = new Call(checkout, alphaEgress, "DELETE", ORDERS, "/orders/1000").send();
        assertThat(delete.status()).as("a method never seen: %s", delete).isEqualTo(403);
        assertThat(delete.header("x-isthmus-reason")).contains("no-matching-allow");
        Workload.Response deeper = new Call(checkout, alphaEgress, "GET", ORDERS, "/orders/1000/cancel").send();
        assertThat(deeper.status()).as("a path never seen: %s", deeper).isEqualTo(403);
        // The attacker's rows for the suggested template /orders/{*}: a dot segment climbs out of it after
        // normalization (policy sees /admin, as the backend would), an encoded slash would add a segment.
        for (String escape : List.of("/orders/..", "/orders/%2e%2e", "/orders/%2E.", "/orders/1000/../../admin")) {
            Workload.Response r = new Call(checkout, alphaEgress, "GET", ORDERS, escape).send();
            assertThat(r.status()).as("%s climbs out of /orders/{*}: %s", escape, r).isEqualTo(403);
            assertThat(r.header("x-isthmus-reason")).contains("no-matching-allow");
        }
        Workload.Response slash = new Call(checkout, alphaEgress, "GET", ORDERS, "/orders/1000%2Fadmin").send();
        assertThat(slash.status()).as("an encoded slash in an id: %s", slash).isEqualTo(400);
        assertThat(slash.header("x-isthmus-reason")).contains("path-encoded-slash");
        Workload.Response l4 = new Call(checkout, alphaEgress, "CONNECT", LEDGER, "5432").send();
        assertThat(l4.status()).as("an L4 caller never seen: %s", l4).isEqualTo(403);
        assertThat(ledger.connections()).as("the refused tunnel never reached the ledger").isEqualTo(6);
    }

    @Test
    @Order(4)
    void aDryRunDenyCountsWouldBeDenialsAndChangesNothing() throws Exception {
        replace(policyFile(), Files.readString(policyFile()) + """
                ---
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata:
                  name: no-health-from-beta
                  namespace: shop
                  annotations: {security.isthmus.io/dry-run: "true"}
                spec:
                  action: DENY
                  rules:
                  - from: [{source: {trustDomains: [beta.acme.internal]}}]
                    to: [{operation: {paths: [/health]}}]
                """);
        String metrics = gamma.managementUrl("/q/metrics");
        Awaitility.await("gamma loads the dry-run policy").atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(200)).ignoreExceptionsInstanceOf(IOException.class)
                .until(() -> metric(metrics, "isthmus_authz_policies", "source", "file") == 3);
        int before = decisions().size();
        Call health = new Call(cart, betaEgress, "GET", ORDERS, "/health");
        for (int i = 0; i < 3; i++) {
            Workload.Response r = health.send();
            assertThat(health.worked(r)).as("dry-run changes nothing: %s", r).isTrue();
        }
        Call order = new Call(cart, betaEgress, "GET", ORDERS, "/orders/7");
        assertThat(order.worked(order.send())).isTrue();
        assertThat(metric(metrics, "isthmus_authz_dry_run_would_deny_total", "destination", ORDERS,
                "source_trust_domain", "beta.acme.internal", "reason", "explicit-deny", "policy",
                "shop/no-health-from-beta")).isEqualTo(3);
        System.out.println("$ curl -s gamma:8080/q/metrics | grep dry_run\n"
                + samples(metrics, "isthmus_authz_dry_run_would_deny_total"));
        List<DecisionRecord> after = Awaitility.await().atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(200)).until(this::decisions, d -> d.size() >= before + 4);
        List<DecisionRecord> latest = after.subList(before, after.size());
        assertThat(latest).filteredOn(r -> r.path().orElse("").equals("/health")).hasSize(3).allSatisfy(r -> {
            assertThat(r.served()).isTrue();
            assertThat(r.observing()).isFalse();
            assertThat(r.verdict().policy()).contains("shop/suggested-orders");
            assertThat(r.dryRun()).hasValueSatisfying(d -> {
                assertThat(d.allowed()).isFalse();
                assertThat(d.policy()).contains("shop/no-health-from-beta");
            });
        });
        assertThat(latest).filteredOn(r -> r.path().orElse("").startsWith("/orders")).singleElement()
                .satisfies(r -> assertThat(r.dryRun()).hasValueSatisfying(d -> assertThat(d.allowed()).isTrue()));
    }

    /** gamma's decision log stays in target/ for a person to read (or feed to bin/isthmus authz suggest). */
    private void keepTheDecisionLog() throws IOException {
        if (gamma != null && Files.exists(auditLog())) {
            Path kept = Path.of("target", "observe-then-enforce", "gamma-audit.jsonl");
            Files.createDirectories(kept.getParent());
            Files.copy(auditLog(), kept, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Every record of gamma's decision log (a refused line fails the test: the gateway wrote them all). */
    private List<DecisionRecord> decisions() throws IOException {
        List<DecisionRecord> out = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(auditLog())) {
            DecisionLogReader.read(in, auditLog().toString(), out::add, r -> refused.add(r.toString()));
        }
        assertThat(refused).isEmpty();
        return out;
    }

    /** Atomically, as a ConfigMap update does. */
    private static void replace(Path file, String content) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, content);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The sum of the samples of {@code name} whose labels include {@code labels} (name, value pairs). */
    static double metric(String url, String name, String... labels) throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        double sum = 0;
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{([^}]*)} (\\S+)$").matcher(r.body());
        while (m.find()) {
            boolean all = true;
            for (int i = 0; i < labels.length; i += 2) {
                all &= m.group(1).contains(labels[i] + "=\"" + labels[i + 1] + "\"");
            }
            if (all) {
                sum += Double.parseDouble(m.group(2));
            }
        }
        return sum;
    }

    /** The lines of {@code name} in the Prometheus text at {@code url}. */
    static String samples(String url, String name) throws IOException, InterruptedException {
        String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
        return String.join("\n", body.lines().filter(l -> l.startsWith(name + "{")).toList());
    }

    /** The isthmus CLI in this JVM, its output captured. */
    record Cli(int exit, String out, String err) {
        static Cli run(String... args) {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int exit = IsthmusCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
            return new Cli(exit, out.toString(), err.toString());
        }
    }

    /** A TCP service: echoes every byte back, one virtual thread per connection; counts connections. */
    static final class EchoServer implements AutoCloseable {
        private final ServerSocket server;
        private final AtomicInteger connections = new AtomicInteger();

        private EchoServer(ServerSocket server) {
            this.server = server;
        }

        static EchoServer start(String host, int port) throws IOException {
            EchoServer echo = new EchoServer(new ServerSocket(port, 50, InetAddress.getByName(host)));
            Thread.ofVirtual().start(echo::accept);
            return echo;
        }

        private void accept() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    connections.incrementAndGet();
                    Thread.ofVirtual().start(() -> {
                        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                            in.transferTo(out);
                        } catch (IOException e) {
                            // the caller went away
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        }

        int port() {
            return server.getLocalPort();
        }

        int connections() {
            return connections.get();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
