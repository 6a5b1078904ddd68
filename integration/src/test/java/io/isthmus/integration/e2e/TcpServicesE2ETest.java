package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;

import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.federation.FederationPki;
import io.isthmus.integration.federation.GatewayClient;
import io.isthmus.integration.support.Databases;
import io.isthmus.integration.support.LocalServer;
import io.isthmus.integration.support.Repo;
import io.isthmus.proxy.Bulk;
import io.isthmus.proxy.NettyBackends;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;
import io.isthmus.trust.tls.TlsContexts;
import io.isthmus.trust.x509.Pem;

/**
 * Issue 14 items 4 and 5 over real gateway processes (alpha and beta on loopback, one federation for the class) and
 * real servers from Debian. beta exports PostgreSQL ({@code pg.data}, 5432, {@code tcp}), Redis ({@code cache.data},
 * 6379, {@code tcp}) and {@code orders.shop} (8443, {@code mtls}: a workload of beta terminating mutual TLS with its
 * own SVID and authorizing its callers itself); its policy lets alpha's {@code reports/reporting} use the database
 * and {@code shop/checkout} the cache, nobody else anything. alpha's egress has TCP listeners for both: psql and
 * redis-cli, unmodified, reach them by mesh name without CONNECT, and a caller the L4 policy does not allow is
 * refused and audited at beta. A VM enrolled at alpha calls orders through its agent's local egress: end to end
 * TLS with the VM's own certificate, which the workload sees, while beta's ingress sees no request.
 *
 * <p>The agent's local egress (issue 16 item 9) over the same processes: the agent runs with a 64 MiB heap and
 * streams a larger upload and download through it; a CONNECT by mesh name carries raw TCP (an echo at beta); a
 * chunked request keeps its trailers end to end; CONNECTs that policy or naming refuse get the gateway's clear status.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TcpServicesE2ETest {
    static final String PG = "pg.data.svc.clusterset.local";
    static final String CACHE = "cache.data.svc.clusterset.local";
    static final String ORDERS = "orders.shop.svc.clusterset.local";
    static final String REPORTING = "spiffe://alpha.acme.internal/ns/reports/sa/reporting";
    static final String CHECKOUT = "spiffe://alpha.acme.internal/ns/shop/sa/checkout";
    static final String INTRUDER = "spiffe://alpha.acme.internal/ns/shop/sa/intruder";
    static final String VM_ID = "spiffe://alpha.acme.internal/ns/demo/sa/orders-client";
    static final String ORDERS_ID = "spiffe://beta.acme.internal/ns/shop/sa/orders";
    static final String ADMIN_TOKEN = "tcp-services-e2e-bootstrap-admin-token-0123456789";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    static Path dir;

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private ClusterSpec alpha;
    private ClusterSpec beta;
    private Federation federation;
    private LocalServer postgres;
    private LocalServer redis;
    private OrdersWorkload orders;
    private Process agent;
    private int localEgress;
    private final int pgListener = FreePorts.next();
    private final int pgIntruderListener = FreePorts.next();
    private final int cacheListener = FreePorts.next();
    private final int ordersPort = FreePorts.next();
    static final String BULK = "bulk.data.svc.clusterset.local";
    static final String ECHO = "echo.data.svc.clusterset.local";
    static final String TCP_ECHO = "tcpecho.data.svc.clusterset.local";
    /** The agent's heap: smaller than one transfer, so an agent that held a body whole could not pass. */
    private static final String AGENT_HEAP = "-Xmx64m";
    private static final long TRANSFER = 80L * 1024 * 1024;
    private Bulk.Backend bulk;
    private InetSocketAddress echo;
    private TcpEcho tcpEcho;

    @BeforeAll
    void start() throws Exception {
        Path agentJar = Repo.root().resolve("vm-agent/target/isthmus-agent.jar");
        Assumptions.assumeTrue(Files.exists(Clusters.appJar()) && Files.exists(agentJar),
                "needs the packaged gateway and agent (run bin/test or ./mvnw verify)");
        postgres = Databases.postgres();
        closeables.add(postgres);
        redis = Databases.redis(dir.resolve("redis"));
        closeables.add(redis);
        bulk = new Bulk.Backend(new InetSocketAddress("127.0.0.1", FreePorts.next()));
        closeables.add(bulk);
        NettyBackends netty = new NettyBackends();
        closeables.add(netty);
        echo = netty.echo(new InetSocketAddress("127.0.0.1", FreePorts.next()));
        tcpEcho = new TcpEcho();
        closeables.add(tcpEcho);
        List<ClusterSpec> clusters = Clusters.onLoopback(dir, "alpha", "beta");
        alpha = clusters.get(0);
        beta = clusters.get(1);
        federation = Federation.prepare(dir, Clusters.appJar(), clusters, Duration.ofSeconds(2), this::configure,
                Map.of());
        closeables.add(federation);
        orders = OrdersWorkload.start(federation.pki(), ordersPort);
        closeables.add(orders);
        federation.start(Duration.ofSeconds(90));
        GatewayClient api = new GatewayClient(federation.pki().rootCertificate());
        for (String name : List.of(PG, CACHE, ORDERS, BULK, ECHO, TCP_ECHO)) {
            Awaitility.await(name + " reaches alpha's registry").atMost(Duration.ofSeconds(40))
                    .pollInterval(Duration.ofMillis(500))
                    .until(() -> api.get(alpha.apiUrl("/v1/services/" + name)).body(), b -> b.contains("\"cluster\":\"beta\""));
        }
        // The VM joins alpha and runs its agent with the local egress.
        String root = federation.pki().rootCertificate().toString();
        String token = VmServiceE2ETest.createToken(alpha, root, "demo", "orders-client");
        localEgress = FreePorts.next();
        agent = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), AGENT_HEAP, "-jar",
                agentJar.toString(), "join", "--gateway", alpha.apiUrl(""), "--trust-domain",
                alpha.trustDomain().name(), "--token", token, "--root-ca", root,
                "--state-dir", dir.resolve("agent").toString(), "--socket", dir.resolve("workload.sock").toString(),
                "--gateway-egress", alpha.host() + ":" + alpha.ports().egress(), "--egress-port",
                Integer.toString(localEgress)).redirectErrorStream(true).redirectOutput(dir.resolve("agent.log").toFile())
                .start();
    }

    @AfterAll
    void stop() throws Exception {
        Clusters.stopAll(agent, closeables);
    }

    @Test
    void psqlInAlphaQueriesPostgresExportedByBeta() throws Exception {
        Result r = run(List.of("psql", "-h", "127.0.0.1", "-p", Integer.toString(pgListener), "-U", "postgres", "-d",
                "postgres", "-Atc", "select 'isthmus-' || 21 * 2, current_setting('port')"));
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output().strip()).isEqualTo("isthmus-42|" + postgres.port());
        // The decision log's writer drains its queue on a 2-20 ms tick (LineQueue): the line lands shortly after the call.
        Awaitility.await("beta audits the query").atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(auditLines()).anySatisfy(l -> {
                    assertThat(l.path("decision").asText()).isEqualTo("allow");
                    assertThat(l.path("caller").asText()).isEqualTo(REPORTING);
                    assertThat(l.path("destination").asText()).isEqualTo(PG);
                    assertThat(l.path("port").asInt()).isEqualTo(5432);
                    assertThat(l.path("peer_gateway").asText())
                            .isEqualTo("spiffe://alpha.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
                }));
    }

    @Test
    void psqlAsACallerTheL4PolicyDoesNotAllowIsRefusedAndAudited() throws Exception {
        Result r = run(List.of("psql", "-h", "127.0.0.1", "-p", Integer.toString(pgIntruderListener), "-U", "postgres",
                "-d", "postgres", "-Atc", "select 1"));
        assertThat(r.exit()).isNotZero();
        assertThat(r.output()).contains("server closed the connection unexpectedly");
        Awaitility.await("beta audits the refusal").atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(auditLines()).anySatisfy(l -> {
                    assertThat(l.path("decision").asText()).isEqualTo("deny");
                    assertThat(l.path("reason").asText()).isEqualTo("no-matching-allow");
                    assertThat(l.path("caller").asText()).isEqualTo(INTRUDER);
                    assertThat(l.path("destination").asText()).isEqualTo(PG);
                    assertThat(l.path("port").asInt()).isEqualTo(5432);
                }));
    }

    @Test
    void redisCliWithItsSvidSetsAndGetsOnRedisExportedByBetaAndAnotherSvidIsRefused() throws Exception {
        Path checkout = dir.resolve("checkout");
        Workload.writeFiles(federation.pki(), CHECKOUT, checkout);
        List<String> tls = List.of("redis-cli", "--tls", "--cacert", federation.pki().rootCertificate().toString(),
                "-h", "127.0.0.1", "-p", Integer.toString(cacheListener));
        Result set = run(concat(tls, "--cert", checkout + ".pem", "--key", checkout + ".key", "SET", "isthmus", "l4"));
        assertThat(set.output().strip()).as(set.output()).isEqualTo("OK");
        Result get = run(concat(tls, "--cert", checkout + ".pem", "--key", checkout + ".key", "GET", "isthmus"));
        assertThat(get.output().strip()).isEqualTo("l4");

        Path intruder = dir.resolve("intruder");
        Workload.writeFiles(federation.pki(), INTRUDER, intruder);
        Result refused = run(concat(tls, "--cert", intruder + ".pem", "--key", intruder + ".key", "GET", "isthmus"));
        assertThat(refused.output()).doesNotContain("l4");
        Awaitility.await("beta audits both").atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(auditLines()).anySatisfy(l -> assertThat(List.of(l.path("decision").asText(),
                    l.path("caller").asText(), l.path("destination").asText(), l.path("port").asText()))
                    .containsExactly("allow", CHECKOUT, CACHE, "6379"));
            assertThat(auditLines()).anySatisfy(l -> assertThat(List.of(l.path("decision").asText(),
                    l.path("caller").asText(), l.path("destination").asText(), l.path("port").asText()))
                    .containsExactly("deny", INTRUDER, CACHE, "6379"));
        });
    }

    @Test
    void tcpListenersAreAnnouncedByTheApi() throws Exception {
        JsonNode listeners = JSON.readTree(new GatewayClient(federation.pki().rootCertificate())
                .get(alpha.apiUrl("/v1/tcp-listeners")).body());
        assertThat(listeners).anySatisfy(l -> {
            assertThat(l.path("name").asText()).isEqualTo("pg");
            assertThat(l.path("listen").asText()).isEqualTo("127.0.0.1:" + pgListener);
            assertThat(l.path("serverName").asText()).isEqualTo("5432." + PG);
            assertThat(l.path("plaintextCaller").asText()).isEqualTo(REPORTING);
            assertThat(l.path("srv").asText()).isEqualTo("_5432._tcp." + PG + ". 30 IN SRV 0 0 " + pgListener
                    + " 127.0.0.1.");
        });
        assertThat(listeners).anySatisfy(l -> assertThat(l.path("clients").asText() + " " + l.path("name").asText())
                .isEqualTo("tls-svid cache"));
    }

    @Test
    void vmCallsAWorkloadEndToEndWithItsOwnCertificateAndBetasIngressSeesNoRequest() throws Exception {
        HttpResponse<String> r;
        try (HttpClient app = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .proxy(java.net.ProxySelector.of(new InetSocketAddress("127.0.0.1", localEgress))).build()) {
            // Until the agent has enrolled and its local egress listens.
            r = Awaitility.await("VM -> orders, end to end").atMost(Duration.ofSeconds(40))
                    .pollInterval(Duration.ofMillis(500)).ignoreExceptionsInstanceOf(java.net.ConnectException.class)
                    .until(() -> {
                        if (!agent.isAlive()) {
                            throw new IllegalStateException("agent exited: " + Files.readString(dir.resolve("agent.log")));
                        }
                        return app.send(HttpRequest.newBuilder(URI.create("http://" + ORDERS + ":8443/orders/secret-42"))
                                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                    }, x -> x.statusCode() == 200);
        }
        assertThat(r.body()).isEqualTo("orders served " + VM_ID + " /orders/secret-42\n");
        X509Certificate vmLeaf = Pem.readCertificates(dir.resolve("agent/svid.pem")).get(0);
        assertThat(orders.clientLeaves).as("the workload saw the VM's own certificate").contains(vmLeaf);

        // beta's ingress relayed bytes it could not read: no authorization, no request, no path in its log.
        String metrics = new GatewayClient(federation.pki().rootCertificate()).get(beta.managementUrl("/q/metrics")).body();
        assertThat(metrics).containsPattern("isthmus_passthrough_connections_total\\{destination_service=\"" + ORDERS
                .replace(".", "\\.") + "\",listener=\"ingress\"} [1-9]");
        assertThat(metrics.lines().filter(l -> l.startsWith("isthmus_requests_total")).toList())
                .noneMatch(l -> l.contains(ORDERS));
        assertThat(auditLines()).noneMatch(l -> l.path("destination").asText().equals(ORDERS));
        String betaLog = Files.readString(beta.logFile());
        assertThat(betaLog).contains("passing").contains("through to 8443." + ORDERS + " (127.0.0.1:" + orders.port()
                + "), undecrypted");
        assertThat(betaLog).doesNotContain("secret-42");
        assertThat(Files.readString(alpha.logFile())).doesNotContain("secret-42");
    }

    /** The local egress, once the agent has enrolled and listens. */
    private Socket toLocalEgress() {
        return Awaitility.await("the agent's local egress listens").atMost(Duration.ofSeconds(40))
                .pollInterval(Duration.ofMillis(300)).ignoreExceptionsInstanceOf(java.net.ConnectException.class)
                .until(() -> {
                    if (!agent.isAlive()) {
                        throw new IllegalStateException("agent exited: " + Files.readString(dir.resolve("agent.log")));
                    }
                    Socket s = new Socket("127.0.0.1", localEgress);
                    s.setSoTimeout(30_000);
                    return s;
                }, java.util.Objects::nonNull);
    }

    @Test
    void vmStreamsAnUploadAndADownloadLargerThanItsHeapThroughItsLocalEgress() throws Exception {
        transferThroughTheAgent(TRANSFER);
    }

    @Test
    @Tag("slow")
    void aGibibyteUpAndDownThroughTheAgentWithItsHeapFlat() throws Exception {
        transferThroughTheAgent(1024L * 1024 * 1024);
    }

    private void transferThroughTheAgent(long size) throws Exception {
        long rssBefore;
        long started;
        try (Bulk.Client app = new Bulk.Client(toLocalEgress())) {
            // Warm up first (the JIT, the heap up to -Xmx, Netty's buffer pools), so that what follows shows what the
            // size costs, and not what a freshly started agent costs.
            long warmUp = 8L * 1024 * 1024;
            assertThat(app.upload(BULK, "/sink", warmUp, true).body()).contains("intact=true");
            assertThat(app.readBody(app.get(BULK, "/source?bytes=" + warmUp))).isEqualTo(warmUp);
            rssBefore = rssKib(agent.pid());
            started = System.nanoTime();
            Bulk.Response up = app.upload(BULK, "/sink", size, true);
            assertThat(up.status()).as(up.body()).isEqualTo(200);
            assertThat(up.body()).contains("bytes=" + size + " intact=true");
            Bulk.Response down = app.get(BULK, "/source?bytes=" + size);
            assertThat(down.status()).isEqualTo(200);
            assertThat(app.readBody(down)).isEqualTo(size);
        }
        long rssAfter = rssKib(agent.pid());
        System.out.printf("agent egress: %d MiB up and %d MiB down in %d ms; agent (%s) RSS %d -> %d MiB%n",
                size >> 20, size >> 20, (System.nanoTime() - started) / 1_000_000, AGENT_HEAP, rssBefore >> 10,
                rssAfter >> 10);
        assertThat(agent.isAlive()).as("the agent survived (no OutOfMemoryError)").isTrue();
        assertThat(Files.readString(dir.resolve("agent.log"))).doesNotContain("OutOfMemoryError");
        // Flat: what Netty's pooled buffers and the JIT take, whatever the size (seen: +15 MiB for 80 MiB each way).
        assertThat(rssAfter - rssBefore).as("agent RSS growth (KiB) while moving %d MiB each way", size >> 20)
                .isLessThan(48 * 1024);
    }

    @Test
    void aChunkedRequestKeepsItsTrailersThroughTheLocalEgress() throws Exception {
        try (Bulk.Client app = new Bulk.Client(toLocalEgress())) {
            app.send("POST http://" + ECHO + "/trailers HTTP/1.1\r\nHost: " + ECHO + "\r\nTransfer-Encoding: chunked\r\n"
                    + "Trailer: x-checksum\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: sha256=abc\r\n\r\n");
            Bulk.Response head = app.readHead();
            assertThat(head.status()).isEqualTo(200);
            Bulk.Response body = app.readChunked(head);
            assertThat(body.body()).isEqualTo("hello world");
            assertThat(body.headers()).containsEntry("x-checksum", "sha256=abc").containsEntry("x-echo-bytes", "11");
        }
    }

    @Test
    void aConnectTunnelByMeshNameCarriesRawTcpToBeta() throws Exception {
        try (Socket s = toLocalEgress()) {
            s.getOutputStream().write(("CONNECT " + TCP_ECHO + ":7007 HTTP/1.1\r\nHost: " + TCP_ECHO + ":7007\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            assertThat(readHead(s)).startsWith("HTTP/1.1 200");
            for (String line : List.of("not http at all\n", "\u0000\u0001 binary too\n")) {
                s.getOutputStream().write(line.getBytes(StandardCharsets.ISO_8859_1));
                assertThat(new String(s.getInputStream().readNBytes(line.length()), StandardCharsets.ISO_8859_1))
                        .isEqualTo(line);
            }
        }
        assertThat(tcpEcho.connections.get()).as("connections the echo at beta accepted").isPositive();
    }

    @Test
    void connectsThatPolicyOrNamingRefuseGetTheGatewaysStatus() throws Exception {
        int before = tcpEcho.connections.get();
        try (Socket s = toLocalEgress()) {
            s.getOutputStream().write(("CONNECT " + PG + ":5432 HTTP/1.1\r\nHost: " + PG + ":5432\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String head = readHead(s);
            assertThat(head).as("beta's policy lets only reports/reporting use pg").startsWith("HTTP/1.1 403")
                    .containsIgnoringCase("x-isthmus-reason: no-matching-allow");
        }
        try (Socket s = toLocalEgress()) {
            s.getOutputStream().write("CONNECT 10.0.0.1:22 HTTP/1.1\r\nHost: 10.0.0.1:22\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            String head = readHead(s);
            assertThat(head).startsWith("HTTP/1.1 404").containsIgnoringCase("x-isthmus-reason: not-a-mesh-name");
        }
        assertThat(tcpEcho.connections.get()).isEqualTo(before);
        Awaitility.await("beta audits the refused tunnel").atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(auditLines()).anySatisfy(l -> assertThat(List.of(l.path("decision").asText(),
                        l.path("caller").asText(), l.path("destination").asText()))
                        .containsExactly("deny", VM_ID, PG)));
    }

    private static String readHead(Socket s) throws IOException {
        StringBuilder b = new StringBuilder();
        while (!b.toString().endsWith("\r\n\r\n")) {
            int c = s.getInputStream().read();
            if (c < 0) {
                throw new IOException("closed after '" + b + "'");
            }
            b.append((char) c);
        }
        return b.toString();
    }

    /** Resident memory of a process, KiB ({@code VmRSS} in /proc). */
    private static long rssKib(long pid) throws IOException {
        return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream().filter(l -> l.startsWith("VmRSS:"))
                .map(l -> Long.parseLong(l.replaceAll("[^0-9]", ""))).findFirst().orElseThrow();
    }

    /** A raw TCP echo (no HTTP anywhere), the far end of the CONNECT tunnel. */
    static final class TcpEcho implements AutoCloseable {
        final java.util.concurrent.atomic.AtomicInteger connections = new java.util.concurrent.atomic.AtomicInteger();
        private final java.net.ServerSocket server;

        TcpEcho() throws IOException {
            server = new java.net.ServerSocket(0, 16, java.net.InetAddress.getLoopbackAddress());
            Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket c = server.accept();
                        connections.incrementAndGet();
                        Thread.ofVirtual().start(() -> {
                            try (c) {
                                c.getInputStream().transferTo(c.getOutputStream());
                            } catch (IOException e) {
                                // the tunnel closed
                            }
                        });
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    private void configure(ClusterSpec c, Map<String, String> p) {
        try {
            Files.createDirectories(c.dir());
            if (c.name().equals("alpha")) {
                Files.writeString(c.dir().resolve("admin.token"), ADMIN_TOKEN + "\n");
                p.put("isthmus.admin.bootstrap-token-file", c.dir().resolve("admin.token").toString());
                listener(p, "pg", PG, 5432, pgListener, REPORTING);
                listener(p, "pg-intruder", PG, 5432, pgIntruderListener, INTRUDER);
                listener(p, "cache", CACHE, 6379, cacheListener, null);
                return;
            }
            export(p, "pg", "data", "postgres:5432:tcp", "spiffe://beta.acme.internal/ns/data/sa/postgres",
                    postgres.port());
            export(p, "cache", "data", "redis:6379:tcp", "spiffe://beta.acme.internal/ns/data/sa/redis", redis.port());
            export(p, "orders", "shop", "orders:8443:mtls", ORDERS_ID, ordersPort);
            export(p, "bulk", "data", "http:80:http", "spiffe://beta.acme.internal/ns/data/sa/bulk", bulk.address().getPort());
            export(p, "echo", "data", "http:80:http", "spiffe://beta.acme.internal/ns/data/sa/echo", echo.getPort());
            export(p, "tcpecho", "data", "echo:7007:tcp", "spiffe://beta.acme.internal/ns/data/sa/tcpecho",
                    tcpEcho.port());
            Path policy = Files.writeString(c.dir().resolve("policies.yaml"), """
                    apiVersion: security.isthmus.io/v1alpha1
                    kind: AuthorizationPolicy
                    metadata: {name: reporting-reads-pg, namespace: data}
                    spec:
                      selector: {services: [pg]}
                      rules:
                      - from:
                        - source: {principals: ["%s"]}
                        to:
                        - operation: {ports: [5432]}
                    ---
                    apiVersion: security.isthmus.io/v1alpha1
                    kind: AuthorizationPolicy
                    metadata: {name: checkout-uses-cache, namespace: data}
                    spec:
                      selector: {services: [cache]}
                      rules:
                      - from:
                        - source: {principals: ["%s"]}
                    ---
                    apiVersion: security.isthmus.io/v1alpha1
                    kind: AuthorizationPolicy
                    metadata: {name: vm-uses-bulk-and-echoes, namespace: data}
                    spec:
                      selector: {services: [bulk, echo, tcpecho]}
                      rules:
                      - from:
                        - source: {principals: ["%s"]}
                    """.formatted(REPORTING, CHECKOUT, VM_ID));
            p.put("isthmus.authz.policy-file", policy.toString());
            p.put("isthmus.authz.audit-log.path", c.dir().resolve("audit.log").toString());
            // The ingress's request-level log on, so that "no plaintext request" is something its log could show.
            p.put("quarkus.log.category.\"io.isthmus.proxy\".level", "DEBUG");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void listener(Map<String, String> p, String name, String service, int port, int bind, String caller) {
        String key = "isthmus.proxy.tcp-listeners." + name + ".";
        p.put(key + "service", service);
        p.put(key + "port", Integer.toString(port));
        p.put(key + "bind", "127.0.0.1:" + bind);
        if (caller != null) {
            p.put(key + "plaintext-caller", caller);
        }
    }

    private static void export(Map<String, String> p, String name, String namespace, String ports, String identity,
            int backendPort) {
        String key = "isthmus.registry.static-exports." + name + ".";
        p.put(key + "namespace", namespace);
        p.put(key + "ports", ports);
        p.put(key + "identities", identity);
        p.put("isthmus.proxy.backends.\"" + name + "." + namespace + ".svc.clusterset.local\"", "127.0.0.1:" + backendPort);
    }

    private List<JsonNode> auditLines() throws IOException {
        Path log = beta.dir().resolve("audit.log");
        List<JsonNode> lines = new ArrayList<>();
        if (Files.exists(log)) {
            for (String l : Files.readAllLines(log)) {
                if (!l.isBlank()) {
                    lines.add(JSON.readTree(l));
                }
            }
        }
        return lines;
    }

    private record Result(int exit, String output) {
    }

    private Result run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(command + " did not finish within 60 s");
        }
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    private static List<String> concat(List<String> head, String... tail) {
        List<String> all = new ArrayList<>(head);
        all.addAll(List.of(tail));
        return all;
    }

    /**
     * A workload of beta holding its own SVID ({@code shop/orders}), serving HTTPS with mutual TLS and authorizing
     * its callers itself: only the VM may call it. It records the client certificates it saw.
     */
    static final class OrdersWorkload implements AutoCloseable {
        final List<X509Certificate> clientLeaves = new CopyOnWriteArrayList<>();
        private final HttpsServer server;
        private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();

        private OrdersWorkload(HttpsServer server) {
            this.server = server;
        }

        static OrdersWorkload start(FederationPki pki, int port) throws Exception {
            SpiffeId id = SpiffeId.parse(ORDERS_ID);
            FederationPki.Intermediate files = pki.intermediate(id.trustDomain());
            X509Svid svid = new SvidIssuer(Clock.systemUTC()).issue(new CaCredential(Pem.readPrivateKey(files.key()),
                    Pem.readCertificates(files.chain())), id, Duration.ofMinutes(30));
            List<TrustBundle> bundles = new ArrayList<>();
            for (String td : List.of("alpha.acme.internal", "beta.acme.internal")) {
                X509Certificate ca = Pem.readCertificates(pki.intermediate(io.isthmus.trust.spiffe.TrustDomain.parse(td))
                        .chain()).get(0);
                bundles.add(new TrustBundle(io.isthmus.trust.spiffe.TrustDomain.parse(td), List.of(ca), List.of(), 1,
                        Optional.empty()));
            }
            BundleSet set = BundleSet.of(bundles);
            SSLContext tls = TlsContexts.create(() -> svid, new SpiffeTrustManager(new X509SvidVerifier(
                    new FederationRoots(Pem.readCertificates(pki.rootCertificate())), set::bundleFor, Clock.systemUTC(),
                    Duration.ofSeconds(30)), PeerPolicy.anyFederated()));
            HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", port), 16);
            server.setHttpsConfigurator(new HttpsConfigurator(tls) {
                @Override
                public void configure(HttpsParameters params) {
                    SSLParameters p = tls.getDefaultSSLParameters();
                    p.setNeedClientAuth(true);
                    params.setSSLParameters(p);
                }
            });
            OrdersWorkload w = new OrdersWorkload(server);
            server.createContext("/", w::serve);
            server.setExecutor(w.threads);
            server.start();
            return w;
        }

        private void serve(com.sun.net.httpserver.HttpExchange exchange) throws IOException {
            try (exchange) {
                X509Certificate leaf = (X509Certificate) ((HttpsExchange) exchange).getSSLSession().getPeerCertificates()[0];
                clientLeaves.add(leaf);
                String caller = TlsContexts.peerId(((HttpsExchange) exchange).getSSLSession()).map(Object::toString)
                        .orElse("");
                // The workload authorizes the end-to-end identity itself.
                boolean allowed = caller.equals(VM_ID);
                byte[] body = (allowed ? "orders served " + caller + " " + exchange.getRequestURI().getPath()
                        : "orders refuses " + caller).concat("\n").getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(allowed ? 200 : 403, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
        }

        int port() {
            return server.getAddress().getPort();
        }

        @Override
        public void close() {
            server.stop(0);
            threads.shutdownNow();
        }
    }
}
