package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.SSLSocket;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.federation.GatewayClient;
import io.isthmus.integration.federation.GatewayProcess;
import io.isthmus.integration.federation.SampleService;
import io.isthmus.proxy.Bulk;
import io.isthmus.proxy.NettyBackends;
import io.isthmus.proxy.WebSocketClient;
import io.isthmus.trust.testing.FreePorts;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.JdkSslContext;

/**
 * Issue 14 over real gateway processes: alpha, beta and gamma on loopback; beta exports a bulk service (a sink and a
 * source, {@link Bulk.Backend}) and a WebSocket echo ({@link NettyBackends}), beta and gamma export payments. A
 * workload of alpha, holding its own SVID, calls them by mesh name over TLS to alpha's egress. Proves:
 * <ul>
 * <li>256 MiB uploaded and 256 MiB downloaded intact through both gateways (1 GiB each way in the slow variant)
 * while the gateways' own gauge of what their pooled buffers hold ({@code isthmus_proxy_buffers_bytes}) stays flat,
 * and their peak RSS grows by less than the body (they run with {@code -Xmx384m});</li>
 * <li>a WebSocket echo across the clusters;</li>
 * <li>after {@code kill -9} of beta, only the first 3 calls to payments pay a failed connect (alpha's own counter),
 * the rest go straight to gamma: beta is ejected, not retried until its registry lease lapses.</li>
 * </ul>
 */
class DataPlaneE2ETest {
    static final String CHECKOUT = EastWestE2ETest.CHECKOUT;
    static final String PAYMENTS = EastWestE2ETest.PAYMENTS;
    static final String BULK = "bulk.billing.svc.clusterset.local";
    static final String CHAT = "chat.billing.svc.clusterset.local";
    private static final long MIB = 1024 * 1024;
    /** What both gateways' pooled buffers may hold at once, whatever is moving. */
    private static final long FLAT = 16 * MIB;

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    private final List<AutoCloseable> backends = new java.util.ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();

    @AfterEach
    void stopBackends() throws Exception {
        for (AutoCloseable b : backends) {
            b.close();
        }
    }

    @Test
    void streamsBodiesAndWebSocketsAndSkipsAKilledClusterAcrossGatewayProcesses() throws Exception {
        run(256 * MIB, true);
    }

    @Test
    @Tag("slow")
    void aGibibyteUpAndDownWithFlatGatewayBuffers() throws Exception {
        run(1024 * MIB, false);
    }

    private void run(long size, boolean everything) throws Exception {
        List<ClusterSpec> clusters = Clusters.onLoopback(dir, "alpha", "beta", "gamma");
        ClusterSpec beta = clusters.get(1);
        Bulk.Backend bulk = new Bulk.Backend(new InetSocketAddress(beta.host(), FreePorts.next()));
        backends.add(bulk);
        NettyBackends netty = new NettyBackends();
        backends.add(netty);
        InetSocketAddress chat = netty.webSocket(new InetSocketAddress(beta.host(), FreePorts.next()));
        for (ClusterSpec c : clusters.subList(1, 3)) {
            backends.add(SampleService.start(c.host(), c.ports().sample(), c.name(), "payments"));
        }
        try (Federation federation = Federation.prepare(dir, Clusters.appJar(), clusters, Duration.ofSeconds(2),
                (c, p) -> configure(c, p, bulk.address(), chat), Map.of())) {
            federation.start(Duration.ofSeconds(120));
            ClusterSpec alpha = federation.config().cluster("alpha");
            GatewayClient api = new GatewayClient(federation.pki().rootCertificate());
            for (String name : List.of(BULK, CHAT, PAYMENTS)) {
                Awaitility.await("alpha's registry holds " + name).atMost(Duration.ofSeconds(60))
                        .pollInterval(Duration.ofMillis(500))
                        .until(() -> api.get(alpha.apiUrl("/v1/services/" + name)).body(),
                                b -> b.contains("\"cluster\":\"beta\""));
            }
            Workload checkout = Workload.issue(federation.pki(), CHECKOUT);
            Awaitility.await("first call").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
                    .until(() -> checkout.get(egress(alpha), PAYMENTS, "/charge").status(), s -> s == 200);

            transfer(federation, checkout, alpha, size);
            if (everything) {
                webSocketEcho(checkout, alpha);
                killedClusterIsSkippedAfterThreeFailedConnects(federation, checkout, alpha);
            }
        }
    }

    private static String egress(ClusterSpec c) {
        return c.host() + ":" + c.ports().egress();
    }

    private static Bulk.Client client(Workload w, ClusterSpec alpha) throws IOException {
        SSLSocket s = (SSLSocket) w.tls().getSocketFactory().createSocket(alpha.host(), alpha.ports().egress());
        s.startHandshake();
        return new Bulk.Client(s);
    }

    private void transfer(Federation federation, Workload checkout, ClusterSpec alpha, long size) throws Exception {
        List<GatewayProcess> gateways = List.of(federation.gateway("alpha"), federation.gateway("beta"));
        long[] peakBefore = gateways.stream().mapToLong(g -> status(g, "VmHWM")).toArray();
        AtomicLong buffersPeak = new AtomicLong();
        Thread sampler = Thread.ofVirtual().start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                for (ClusterSpec c : List.of(alpha, federation.config().cluster("beta"))) {
                    buffersPeak.accumulateAndGet((long) metric(c, "isthmus_proxy_buffers_bytes", ""), Math::max);
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        long started = System.nanoTime();
        try (Bulk.Client c = client(checkout, alpha)) {
            assertThat(c.upload(BULK, "/sink", size, true).body())
                    .isEqualTo("bytes=" + size + " intact=true framing=chunked\n");
            Bulk.Response head = c.get(BULK, "/source?bytes=" + size + "&length");
            assertThat(head.status()).isEqualTo(200);
            assertThat(c.readBody(head)).isEqualTo(size);
        } finally {
            sampler.interrupt();
            sampler.join();
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        long[] peakAfter = gateways.stream().mapToLong(g -> status(g, "VmHWM")).toArray();
        System.out.printf("data plane e2e: %d MiB up and %d MiB down in %.1f s (%.0f MiB/s on average); "
                + "peak RSS alpha %d -> %d MiB, beta %d -> %d MiB; peak pooled buffers %d KiB%n", size / MIB,
                size / MIB, seconds, 2 * size / MIB / seconds, peakBefore[0] / MIB, peakAfter[0] / MIB,
                peakBefore[1] / MIB, peakAfter[1] / MIB, buffersPeak.get() / 1024);
        assertThat(buffersPeak.get()).as("both gateways' pooled buffers during the transfer").isLessThan(FLAT);
        // RSS also moves with the garbage collector sizing its young generation under the transfer's allocation rate
        // (seen: +100 MiB in one 256 MiB run, +18 MiB in a 1 GiB run), so its bound is looser: below the body size
        // and below 256 MiB, which a gateway holding a body whole could not stay under.
        for (int i = 0; i < 2; i++) {
            assertThat(peakAfter[i] - peakBefore[i]).as("peak RSS growth of %s while %d MiB crossed it twice",
                    gateways.get(i).cluster().name(), size / MIB).isLessThan(Math.min(size, 256 * MIB));
        }
    }

    private void webSocketEcho(Workload checkout, ClusterSpec alpha) throws Exception {
        NioEventLoopGroup group = new NioEventLoopGroup(1);
        try (WebSocketClient ws = new WebSocketClient(group, new InetSocketAddress(alpha.host(), alpha.ports().egress()),
                new JdkSslContext(checkout.tls(), true, ClientAuth.NONE), CHAT, "/ws", EmptyHttpHeaders.INSTANCE)) {
            ws.handshake.get(30, TimeUnit.SECONDS);
            for (int i = 0; i < 10; i++) {
                ws.send("hello " + i);
                assertThat(ws.received.poll(30, TimeUnit.SECONDS)).isEqualTo("echo: hello " + i);
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private void killedClusterIsSkippedAfterThreeFailedConnects(Federation federation, Workload checkout,
            ClusterSpec alpha) throws Exception {
        federation.gateway("beta").kill();
        for (int i = 0; i < 15; i++) {
            Workload.Response r = checkout.get(egress(alpha), PAYMENTS, "/charge");
            assertThat(r.status()).as("call %d after kill -9 of beta: %s", i, r).isEqualTo(200);
            assertThat(r.body()).contains("\"cluster\":\"gamma\"");
        }
        assertThat(metric(alpha, "isthmus_upstream_connect_failures_total", "cluster=\"beta\""))
                .as("failed connects to beta over 15 calls").isEqualTo(3.0);
        assertThat(metric(alpha, "isthmus_outlier_ejections_total", "cluster=\"beta\"")).isEqualTo(1.0);
    }

    /** A field of /proc/<pid>/status, in bytes. */
    private static long status(GatewayProcess g, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + g.pid() + "/status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        throw new IllegalStateException(field + " not in /proc/" + g.pid() + "/status");
    }

    /** The sum of a metric's samples whose labels contain {@code labels}, from the gateway's /q/metrics. */
    private double metric(ClusterSpec c, String name, String labels) {
        try {
            String text = http.send(HttpRequest.newBuilder(URI.create(c.managementUrl("/q/metrics"))).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            double sum = 0;
            Matcher m = Pattern.compile("(?m)^" + name + "(\\{[^}]*})? (\\S+)$").matcher(text);
            while (m.find()) {
                if (m.group(1) == null ? labels.isEmpty() : m.group(1).contains(labels)) {
                    sum += Double.parseDouble(m.group(2));
                }
            }
            return sum;
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** EastWestE2ETest's settings, plus bulk and chat exported by beta, a policy letting checkout call all three. */
    private static void configure(ClusterSpec c, Map<String, String> p, InetSocketAddress bulk, InetSocketAddress chat) {
        EastWestE2ETest.configure(c, p);
        p.put("isthmus.proxy.outlier.base-ejection", "60s");
        p.put("isthmus.proxy.outlier.max-ejection", "60s");
        if (!c.name().equals("beta")) {
            return;
        }
        for (Map.Entry<String, InetSocketAddress> e : Map.of("bulk", bulk, "chat", chat).entrySet()) {
            p.put("isthmus.registry.static-exports." + e.getKey() + ".namespace", "billing");
            p.put("isthmus.registry.static-exports." + e.getKey() + ".ports", "http:80");
            p.put("isthmus.registry.static-exports." + e.getKey() + ".identities",
                    "spiffe://" + c.trustDomain().name() + "/ns/billing/sa/" + e.getKey());
            p.put("isthmus.proxy.backends.\"" + e.getKey() + ".billing.svc.clusterset.local\"",
                    e.getValue().getHostString() + ":" + e.getValue().getPort());
        }
        Path policy = c.dir().resolve("policies.yaml");
        try {
            Files.writeString(policy, """
                    apiVersion: security.isthmus.io/v1alpha1
                    kind: AuthorizationPolicy
                    metadata: {name: data-plane-e2e, namespace: billing}
                    spec:
                      action: ALLOW
                      rules:
                      - from:
                        - source: {principals: ["%s"]}
                    """.formatted(CHECKOUT));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
