package io.isthmus.agent.egress;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

import io.isthmus.agent.gateway.GatewayClient;
import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.authz.policy.PolicyAuthorizer;
import io.isthmus.proxy.authz.policy.PolicySet;
import io.isthmus.proxy.authz.policy.source.PolicyYaml;
import io.isthmus.proxy.authz.vouch.GatewayIdentities;
import io.isthmus.proxy.egress.EgressServer;
import io.isthmus.proxy.http.path.PathNormalization;
import io.isthmus.proxy.http.path.PathNormalizer;
import io.isthmus.proxy.ingress.IngressServer;
import io.isthmus.proxy.ingress.StaticBackends;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.proxy.telemetry.Telemetry;
import io.isthmus.proxy.tls.ProxyTls;
import io.isthmus.proxy.transport.NettyTransport;
import io.isthmus.registry.ClusterIdentity;
import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.Locality;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.RegistryResolver;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.registry.store.InfinispanRegistry;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.testing.TestCa;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * The local egress forwards a plain HTTP request (Host header or absolute URI naming a mesh service) to the cluster
 * gateway's egress over TLS, presenting the VM's SVID, and talks only to a server that proves it is that gateway.
 * The gateway is the real data plane under test PKI: its egress authenticates the VM and resolves the name with the
 * registry's resolver, its ingress authorizes the VM against a policy file's rules and tells the backend (which
 * echoes what it saw) who called; the gateway's refusals reach the app unchanged.
 */
class LocalEgressTest {
    private static final TrustDomain TD = TrustDomain.parse("vm.test");
    private static final String VM = "spiffe://vm.test/ns/shop/sa/orders-vm";
    private static final String GATEWAY = "spiffe://vm.test" + GatewayClient.GATEWAY_PATH;
    private static final String POLICY = """
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: from-the-vm, namespace: isthmus-system}
            spec:
              action: ALLOW
              rules:
              - from:
                - source: {principals: ["%s"]}
            """.formatted(VM);

    static {
        LocalEgress.allowHostHeader();
    }

    private static final TestCa PKI = TestCa.create();
    private static final CaCredential INTERMEDIATE = PKI.intermediate(TD.name());
    private static final X509Svid VM_SVID = TestCa.svid(INTERMEDIATE, VM);
    private static final X509Svid GATEWAY_SVID = TestCa.svid(INTERMEDIATE, GATEWAY);
    private static final List<String> BACKEND_SAW = new CopyOnWriteArrayList<>();
    private static HttpServer backend;
    private static NettyTransport transport;
    private static DefaultCacheManager caches;
    private static RegistryResolver resolver;
    private static IngressServer ingress;
    private static EgressServer egress;

    @BeforeAll
    static void startGateway() throws IOException {
        backend = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        backend.createContext("/", ex -> {
            try (ex) {
                String saw = "host=" + ex.getRequestHeaders().getFirst("Host") + " path=" + ex.getRequestURI()
                        + " xfcc=" + ex.getRequestHeaders().getFirst("x-forwarded-client-cert");
                BACKEND_SAW.add(saw);
                byte[] b = saw.getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(200, b.length);
                try (OutputStream o = ex.getResponseBody()) {
                    o.write(b);
                }
            }
        });
        backend.start();
        transport = NettyTransport.create(1, "vm-egress-test");
        ingress = new IngressServer(transport, ProxySettings.defaults(), gatewayTls(GATEWAY_SVID), () -> GATEWAY_SVID,
                new StaticBackends(Map.of("payments.billing.svc.clusterset.local", backend.getAddress(),
                        "ledger.shop.svc.clusterset.local", backend.getAddress()), false),
                new PolicyAuthorizer(PolicySet.of("isthmus-system", PolicyYaml.parse(POLICY, "policies.yaml"))),
                (request, decision) -> { }, new ProxyMetrics(new SimpleMeterRegistry()),
                GatewayIdentities.conventional(List.of(TD)), new PathNormalizer(PathNormalization.MERGE_SLASHES),
                Telemetry.none());
        InetSocketAddress in = ingress.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));

        // This cluster exports payments (port 80) and ledger (port 8080), both reached through its own ingress.
        caches = new DefaultCacheManager();
        caches.defineConfiguration("registry", new ConfigurationBuilder().build());
        InfinispanRegistry registry = new InfinispanRegistry(caches.getCache("registry"), new ClusterIdentity("vm",
                new IngressAddress("127.0.0.1", in.getPort()), Locality.UNKNOWN, Duration.ofMinutes(5),
                MeshName.DEFAULT_SUFFIX), Clock.systemUTC());
        registry.export(new ExportSpec(new ServiceKey("vm", "billing", "payments"),
                List.of(new ServicePort("http", 80, Protocol.HTTP)), List.of(), 1));
        registry.export(new ExportSpec(new ServiceKey("vm", "shop", "ledger"),
                List.of(new ServicePort("http", 8080, Protocol.HTTP)), List.of(), 1));
        resolver = new RegistryResolver(registry, Clock.systemUTC(), Map.of("vm", TD));
        egress = gatewayEgress(GATEWAY_SVID);
    }

    @AfterAll
    static void stopGateway() {
        for (AutoCloseable c : new AutoCloseable[] {egress, ingress, transport, caches::stop, () -> backend.stop(0)}) {
            try {
                c.close();
            } catch (Exception e) {
                // best effort: whatever did not start is not stopped
            }
        }
    }

    /** A gateway egress of this federation presenting {@code svid}, verifying peers against the bundles. */
    private static EgressServer gatewayEgress(X509Svid svid) {
        EgressServer e = new EgressServer(transport, ProxySettings.defaults(), gatewayTls(svid), resolver,
                Locality.UNKNOWN, null, new ProxyMetrics(new SimpleMeterRegistry()), Telemetry.none());
        e.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        return e;
    }

    private static ProxyTls gatewayTls(X509Svid svid) {
        BundleSet bundles = BundleSet.of(List.of(new TrustBundle(TD, List.of(INTERMEDIATE.certificate()), List.of(), 1,
                Optional.empty())));
        X509SvidVerifier verifier = new X509SvidVerifier(PKI.roots(), bundles::bundleFor, Clock.systemUTC(),
                Duration.ofSeconds(30));
        return ProxyTls.create(() -> svid, verifier, bundles::bundleFor, svid.id().trustDomain());
    }

    /** The agent's local egress towards {@code gatewayEgress}, with the client the agent builds for it. */
    private static LocalEgress localEgress(InetSocketAddress gatewayEgress) throws IOException {
        GatewayClient gatewayClient = new GatewayClient(URI.create("https://127.0.0.1:1"), PKI.roots(), TD,
                Clock.systemUTC());
        return LocalEgress.start(new InetSocketAddress("127.0.0.1", 0), gatewayEgress,
                gatewayClient.httpClient(() -> VM_SVID, td -> Optional.empty()));
    }

    @Test
    void forwardsWithTheVmSvidAndTheMeshHostAndTheBackendSeesTheVmIdentity() throws Exception {
        try (LocalEgress local = localEgress(egress.address());
                HttpClient app = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            String url = "http://127.0.0.1:" + local.address().getPort();
            HttpResponse<String> r = app.send(HttpRequest.newBuilder(URI.create(url + "/pay?x=1"))
                    .header("Host", "payments.billing.svc.clusterset.local").build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("host=payments.billing.svc.clusterset.local path=/pay?x=1 xfcc=By="
                    + GATEWAY + ";URI=" + VM);

            // absolute URI with a port, as an HTTP proxy client sends it
            String answer = raw(local.address(), "GET http://ledger.shop.svc.clusterset.local:8080/l HTTP/1.1\r\n"
                    + "Host: ledger.shop.svc.clusterset.local:8080\r\nConnection: close\r\n\r\n");
            assertThat(answer).startsWith("HTTP/1.1 200").endsWith("host=ledger.shop.svc.clusterset.local:8080 path=/l"
                    + " xfcc=By=" + GATEWAY + ";URI=" + VM);
        }
    }

    @Test
    void aRequestThatNamesNoMeshServiceGetsTheGatewaysRefusal() throws Exception {
        int before = BACKEND_SAW.size();
        try (LocalEgress local = localEgress(egress.address());
                HttpClient app = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            // The JDK client sends its own Host (127.0.0.1:<port>), which is no mesh name: the gateway egress refuses
            // it, and the agent passes the refusal on unchanged.
            HttpResponse<String> noHost = app.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + local.address().getPort() + "/x")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(noHost.statusCode()).as(noHost.body()).isEqualTo(404);
            assertThat(noHost.headers().firstValue("x-isthmus-reason")).contains("not-a-mesh-name");
        }
        assertThat(BACKEND_SAW).hasSize(before);
    }

    /**
     * The agent's pin on the gateway's SVID: a server with a valid SVID of this federation that is not the gateway of
     * the VM's trust domain (a workload of that domain, or the gateway of another domain) gets no request; the app
     * gets 502 naming the reason.
     */
    @Test
    void sendsNothingToAServerThatIsNotTheGatewayOfTheVmsTrustDomain() throws Exception {
        // Each server holds a valid SVID under the federation root; the agent says why it is not its gateway.
        Map<String, List<String>> reasons = Map.of(
                "spiffe://vm.test/ns/shop/sa/impostor",
                List.of("peer spiffe://vm.test/ns/shop/sa/impostor is not the gateway of vm.test"),
                "spiffe://other.test" + GatewayClient.GATEWAY_PATH,
                List.of("server of vm.test: CA serial", "constrained to other names than its trust domain (permits other.test)"));
        for (Map.Entry<String, List<String>> row : reasons.entrySet()) {
            String impostor = row.getKey();
            CaCredential signer = impostor.startsWith("spiffe://vm.test/") ? INTERMEDIATE : PKI.intermediate("other.test");
            EgressServer wrong = gatewayEgress(TestCa.svid(signer, impostor));
            InetSocketAddress address = wrong.address();
            int before = BACKEND_SAW.size();
            try (LocalEgress local = localEgress(address);
                    HttpClient app = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
                HttpResponse<String> r = app.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + local.address().getPort() + "/pay")).header("Host", "payments.billing.svc.clusterset.local")
                        .build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as("%s: %s", impostor, r.body()).isEqualTo(502);
                assertThat(r.body()).as(impostor).contains("unreachable").contains(row.getValue());
            } finally {
                wrong.close();
            }
            assertThat(BACKEND_SAW).as("requests that reached the backend through %s", impostor).hasSize(before);
        }
    }

    /**
     * CONNECT by mesh name: the agent relays it to the gateway egress with the VM's SVID; the gateway authorizes the VM
     * at the destination's ingress, answers 200, and the tunnel carries the app's bytes (here a plain HTTP request to
     * the backend, which sees no gateway headers: it is a tunnel). A name that is no mesh name gets the gateway's 404.
     */
    @Test
    void connectOpensATunnelThroughTheGatewayAndANonMeshNameIsRefusedByIt() throws Exception {
        try (LocalEgress local = localEgress(egress.address());
                Socket s = new Socket(local.address().getAddress(), local.address().getPort())) {
            s.setSoTimeout(30_000);
            s.getOutputStream().write(("CONNECT payments.billing.svc.clusterset.local:80 HTTP/1.1\r\n"
                    + "Host: payments.billing.svc.clusterset.local:80\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            String head = readHead(s);
            assertThat(head).startsWith("HTTP/1.1 200");
            s.getOutputStream().write("GET /through-the-tunnel HTTP/1.1\r\nHost: tunnelled\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(answer).startsWith("HTTP/1.1 200").endsWith("host=tunnelled path=/through-the-tunnel xfcc=null");
        }
        try (LocalEgress local = localEgress(egress.address())) {
            String refused = raw(local.address(), "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
            assertThat(refused).startsWith("HTTP/1.1 404").contains("x-isthmus-reason: not-a-mesh-name")
                    .contains("example.com");
        }
    }

    private static String readHead(Socket s) throws IOException {
        StringBuilder b = new StringBuilder();
        while (!b.toString().endsWith("\r\n\r\n")) {
            int c = s.getInputStream().read();
            if (c < 0) {
                throw new IOException("closed after " + b);
            }
            b.append((char) c);
        }
        return b.toString();
    }

    private static String raw(InetSocketAddress to, String request) throws IOException {
        try (Socket s = new Socket(to.getAddress(), to.getPort())) {
            s.setSoTimeout(30_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
