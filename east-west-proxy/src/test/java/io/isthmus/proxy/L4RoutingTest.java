package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.l4.TcpListenerSpec;
import io.isthmus.proxy.l4.TcpListeners;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServicePort;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;
import io.isthmus.trust.tls.TlsContexts;

/**
 * TCP services by mesh name and end-to-end mTLS passthrough, over real sockets and real TLS between three gateways
 * (one federation for the class). b exports
 * <ul>
 * <li>{@code db.data} port 5432 as {@code tcp} (a plain line-echo server);</li>
 * <li>{@code orders.shop} port 8443 as {@code mtls}: a workload that terminates mutual TLS with its own SVID;</li>
 * <li>{@code legacy.shop} port 9443 as {@code mtls} and 80 as {@code http}, both on one plain backend (the
 * misconfiguration passthrough must not reach);</li>
 * <li>{@code payments.billing} port 80 as {@code http} (the federation's usual backend).</li>
 * </ul>
 * Policy at b: a's checkout may call anything, nobody else anything.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class L4RoutingTest {
    static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    static final MeshName DB = MeshName.of("db", "data");
    static final MeshName ORDERS = MeshName.of("orders", "shop");
    static final MeshName LEGACY = MeshName.of("legacy", "shop");
    static final String ORDERS_ID = "spiffe://b.acme.internal/ns/shop/sa/orders";
    static final String VM = "spiffe://a.acme.internal/ns/shop/sa/vm";

    Federation fed;
    TcpBackend db;
    TcpBackend orders;
    TcpBackend legacy;
    TcpListeners listeners;
    Map<String, InetSocketAddress> bound;

    @BeforeAll
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(30),
                Duration.ofSeconds(2)));
        Federation.Cluster a = fed.cluster("a");
        Federation.Cluster b = fed.cluster("b");
        db = TcpBackend.plain("db");
        X509Svid ordersSvid = TestCa.svid(b.ca, ORDERS_ID);
        orders = TcpBackend.mutualTls("orders", TlsContexts.create(() -> ordersSvid,
                new SpiffeTrustManager(b.verifier(), PeerPolicy.anyFederated())));
        legacy = TcpBackend.plain("legacy");
        fed.extraBackends.put(DB.host(), db.address());
        fed.extraBackends.put(ORDERS.host(), orders.address());
        fed.extraBackends.put(LEGACY.host(), legacy.address());
        fed.export(b, DB, new ServicePort("postgres", 5432, Protocol.TCP));
        fed.export(b, ORDERS, new ServicePort("orders", 8443, Protocol.MTLS));
        fed.export(b, LEGACY, new ServicePort("legacy", 9443, Protocol.MTLS), new ServicePort("http", 80, Protocol.HTTP));
        var gateways = io.isthmus.proxy.authz.vouch.GatewayIdentities.conventional(List.of(a.td));
        listeners = new TcpListeners(a.transport, fed.settings, a.tls, fed.resolver(), a.locality,
                new io.isthmus.proxy.metrics.ProxyMetrics(a.meters), a.telemetry, a.egress.outliers());
        bound = new java.util.HashMap<>();
        for (TcpListeners.Bound l : listeners.start(List.of(
                TcpListenerSpec.parse("db-checkout", DB.host(), 5432, "127.0.0.1:0", Optional.of(Federation.CHECKOUT),
                        DB.suffix(), a.td, gateways),
                TcpListenerSpec.parse("db-cart", DB.host(), 5432, "127.0.0.1:0", Optional.of(Federation.CART),
                        DB.suffix(), a.td, gateways),
                TcpListenerSpec.parse("db-tls", DB.host(), 5432, "127.0.0.1:0", Optional.empty(), DB.suffix(), a.td,
                        gateways)))) {
            bound.put(l.spec().name(), l.address());
        }
    }

    @AfterAll
    void stop() throws IOException {
        listeners.close();
        fed.close();
        db.close();
        orders.close();
        legacy.close();
    }

    @BeforeEach
    void forget() {
        fed.asked.clear();
        fed.audited.clear();
    }

    @Test
    void plaintextClientOfATcpListenerReachesTheExportedPortAsTheListenersCaller() throws Exception {
        try (Socket s = new Socket("127.0.0.1", bound.get("db-checkout").getPort())) {
            BufferedReader in = lines(s);
            assertThat(in.readLine()).isEqualTo("db hello anonymous");
            send(s, "select 1");
            assertThat(in.readLine()).isEqualTo("db echo select 1");
        }
        Map.Entry<AccessRequest, Decision> decision = onlyDecisionFor(DB);
        assertThat(decision.getKey().source().toString()).isEqualTo(Federation.CHECKOUT);
        assertThat(decision.getKey().port()).isEqualTo(5432);
        assertThat(decision.getKey().method()).isEmpty();
        assertThat(decision.getKey().peerGateway()).contains(fed.cluster("a").gateway.id());
        assertThat(decision.getValue().allowed()).isTrue();
        // One access-log line per connection at a's TCP listener and per CONNECT tunnel at b's ingress, written when
        // it closes, naming both clusters; the bytes are the client's 9 and the backend's 19 + 17 (other tests' lines,
        // some written after they ended, are told apart by those 9 bytes).
        java.util.function.Predicate<String> thisOne = l -> l.contains(DB.host()) && l.contains("\"bytes_in\":9,");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(fed.cluster("a").accessLog).filteredOn(thisOne).singleElement()
                    .satisfies(l -> assertThat(l).contains("\"kind\":\"tunnel\"", "\"direction\":\"egress\"",
                            "\"source_cluster\":\"a\"", "\"destination_cluster\":\"b\"",
                            "\"destination_service\":\"" + DB.host() + "\"", "\"code\":200",
                            "\"caller\":\"" + Federation.CHECKOUT + "\"", "\"protocol\":\"tcp\"",
                            "\"bytes_in\":9,", "\"bytes_out\":36,"));
            assertThat(fed.cluster("b").accessLog).filteredOn(thisOne).singleElement()
                    .satisfies(l -> assertThat(l).contains("\"kind\":\"tunnel\"", "\"direction\":\"ingress\"",
                            "\"source_cluster\":\"a\"", "\"destination_cluster\":\"b\"", "\"code\":200",
                            "\"method\":\"CONNECT\"", "\"caller\":\"" + Federation.CHECKOUT + "\"",
                            "\"bytes_in\":9,", "\"bytes_out\":36,"));
        });
        assertThat(fed.cluster("a").counter("isthmus_requests_total", "direction", "egress", "source_cluster", "a",
                "destination_cluster", "b", "destination_service", DB.host(), "code", "200")).isPositive();
    }

    @Test
    void callerTheL4PolicyDoesNotAllowIsClosedAndAudited() throws Exception {
        int before = db.accepted.get();
        try (Socket s = new Socket("127.0.0.1", bound.get("db-cart").getPort())) {
            s.setSoTimeout(10_000);
            assertThat(s.getInputStream().read()).as("closed without a byte").isEqualTo(-1);
        }
        Map.Entry<AccessRequest, Decision> decision = onlyDecisionFor(DB);
        assertThat(decision.getKey().source().toString()).isEqualTo(Federation.CART);
        assertThat(decision.getValue()).isInstanceOfSatisfying(Decision.Denied.class,
                d -> assertThat(d.reason().code()).isEqualTo("no-matching-allow"));
        assertThat(db.accepted.get()).as("the backend never saw the refused caller").isEqualTo(before);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(fed.cluster("a").accessLog).filteredOn(
                l -> l.contains(Federation.CART) && l.contains(DB.host())).singleElement().satisfies(l -> assertThat(l).contains(
                        "\"kind\":\"tunnel\"", "\"destination_cluster\":\"b\"", "\"code\":403",
                        "\"caller\":\"" + Federation.CART + "\"", "\"reason\":\"no-matching-allow\"",
                        "\"bytes_in\":0,")));
        assertThat(fed.cluster("a").counter("isthmus_requests_total", "direction", "egress", "destination_cluster", "b",
                "destination_service", DB.host(), "code", "403")).isPositive();
    }

    @Test
    void tlsClientOfATcpListenerIsItsOwnSvid() throws Exception {
        Federation.Cluster a = fed.cluster("a");
        SSLContext checkout = a.clientContext(TestCa.svid(a.ca, Federation.CHECKOUT));
        try (SSLSocket s = (SSLSocket) checkout.getSocketFactory().createSocket("127.0.0.1",
                bound.get("db-tls").getPort())) {
            BufferedReader in = lines(s);
            assertThat(in.readLine()).isEqualTo("db hello anonymous");
            send(s, "ping");
            assertThat(in.readLine()).isEqualTo("db echo ping");
        }
        assertThat(onlyDecisionFor(DB).getKey().source().toString()).isEqualTo(Federation.CHECKOUT);
        // Without an SVID the TLS-only listener has nobody to vouch for.
        try (SSLSocket s = (SSLSocket) a.clientContext(null).getSocketFactory().createSocket("127.0.0.1",
                bound.get("db-tls").getPort())) {
            s.setSoTimeout(10_000);
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        } catch (IOException refusedInHandshake) {
            // TLS 1.3: the close may surface as a handshake error
        }
    }

    @Test
    void connectThroughTheEgressKeepsTheGreetingOfAServerThatSpeaksFirst() throws Exception {
        // The greeting reaches the egress together with the peer ingress's 200, or just after it: it must not be lost
        // in the switch either way. Which of the two happens is timing, so the tunnel is opened a number of times
        // (one try lost the greeting now and then; 20 in a row lost it within the first three tries).
        for (int i = 0; i < 20; i++) {
            try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
                RawHttp.Response r = http.exchange("CONNECT db.data.svc.clusterset.local:5432 HTTP/1.1\r\nHost: "
                        + "db.data.svc.clusterset.local:5432\r\nProxy-Authorization: Bearer checkout\r\n\r\n");
                assertThat(r.status()).isEqualTo(200);
                assertThat(http.readLine()).as("greeting of tunnel %d", i).isEqualTo("db hello anonymous");
                http.send("select 2\n");
                assertThat(http.readLine()).isEqualTo("db echo select 2");
            }
        }
    }

    @Test
    void tcpRouteCarriesOnlyOneConnectToTheNameItWasRoutedBy() throws Exception {
        Federation.Cluster a = fed.cluster("a");
        InetSocketAddress ingressB = fed.cluster("b").ingress.address();
        SSLContext gatewayA = a.clientContext(a.gateway);
        String route = "5432.db.data.svc.clusterset.local";
        try (RawHttp http = RawHttp.tls(ingressB, gatewayA, route)) {
            RawHttp.Response r = http.exchange(RawHttp.get("/", Federation.PAYMENTS.host(),
                    "x-isthmus-caller: " + Federation.CHECKOUT));
            assertThat(r.status()).isEqualTo(421);
            assertThat(r.reason()).isEqualTo("sni-authority-mismatch");
            assertThat(r.body()).contains("CONNECT db.data.svc.clusterset.local:5432");
        }
        try (RawHttp http = RawHttp.tls(ingressB, gatewayA, route)) {
            RawHttp.Response r = http.exchange("CONNECT payments.billing.svc.clusterset.local:80 HTTP/1.1\r\nHost: "
                    + "payments.billing.svc.clusterset.local:80\r\nx-isthmus-caller: " + Federation.CHECKOUT + "\r\n\r\n");
            assertThat(r.status()).isEqualTo(421);
        }
        // HTTP/2 never carries a tunnel: refused before it is switched to.
        try (RawHttp http = RawHttp.tls(ingressB, gatewayA, route, "h2")) {
            assertThat(http.closedWithoutResponse()).isTrue();
        } catch (IOException closedInHandshake) {
            // also a refusal
        }
        try (RawHttp http = RawHttp.tls(ingressB, gatewayA, route)) {
            RawHttp.Response r = http.exchange("CONNECT db.data.svc.clusterset.local:5432 HTTP/1.1\r\nHost: "
                    + "db.data.svc.clusterset.local:5432\r\nx-isthmus-caller: " + Federation.CHECKOUT + "\r\n\r\n");
            assertThat(r.status()).isEqualTo(200);
            assertThat(http.readLine()).isEqualTo("db hello anonymous");
        }
        assertThat(fed.asked).as("policy only saw the CONNECT that matched its route")
                .extracting(x -> x.destination().host()).containsExactly(DB.host());
    }

    @Test
    void onATcpRouteOnlyAGatewayMayVouchAndAWorkloadIsItself() throws Exception {
        Federation.Cluster a = fed.cluster("a");
        SSLContext checkoutItself = a.clientContext(TestCa.svid(a.ca, Federation.CHECKOUT));
        String connect = "CONNECT db.data.svc.clusterset.local:5432 HTTP/1.1\r\nHost: db.data.svc.clusterset.local:5432\r\n";
        try (RawHttp http = RawHttp.tls(fed.cluster("b").ingress.address(), checkoutItself,
                "5432.db.data.svc.clusterset.local")) {
            assertThat(http.exchange(connect + "\r\n").status()).isEqualTo(200);
        }
        SSLContext cart = a.clientContext(TestCa.svid(a.ca, Federation.CART));
        try (RawHttp http = RawHttp.tls(fed.cluster("b").ingress.address(), cart, "5432.db.data.svc.clusterset.local")) {
            RawHttp.Response r = http.exchange(connect + "x-isthmus-caller: " + Federation.CHECKOUT + "\r\n\r\n");
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.reason()).isEqualTo("vouching-by-non-gateway");
        }
        assertThat(fed.audited).extracting(e -> e.getKey().source().toString() + " " + e.getValue().allowed())
                .containsExactly(Federation.CHECKOUT + " true", Federation.CHECKOUT + " false");
    }

    @Test
    void passthroughCarriesTheCallersOwnTlsToTheWorkloadAndNoGatewaySeesARequest() throws Exception {
        Federation.Cluster a = fed.cluster("a");
        X509Svid vm = TestCa.svid(a.ca, VM);
        // The caller trusts only the workload's identity: a gateway answering instead would fail the handshake.
        SSLContext toOrders = TlsContexts.create(() -> vm, new SpiffeTrustManager(a.verifier(),
                PeerPolicy.exactly(SpiffeId.parse(ORDERS_ID))));
        int seen = orders.clientChains.size();
        try (SSLSocket s = sni(toOrders, a.egress.address(), "8443.orders.shop.svc.clusterset.local")) {
            BufferedReader in = lines(s);
            assertThat(in.readLine()).isEqualTo("orders hello " + VM);
            assertThat(TlsContexts.peerId(s.getSession())).map(Object::toString).contains(ORDERS_ID);
            send(s, "GET /secret-orders");
            assertThat(in.readLine()).isEqualTo("orders echo GET /secret-orders");
        }
        assertThat(orders.clientChains).hasSize(seen + 1);
        assertThat(orders.clientChains.get(seen)[0]).as("the workload saw the caller's own certificate")
                .isEqualTo(vm.leaf());
        assertThat(fed.asked).as("no gateway authorized (or saw) a request").isEmpty();
        assertThat(fed.cluster("b").counter("isthmus_requests_total", "destination_service", ORDERS.host())).isZero();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(a.counter("isthmus_passthrough_connections_total", "listener", "egress")).isEqualTo(1);
            assertThat(fed.cluster("b").counter("isthmus_passthrough_connections_total", "listener", "ingress"))
                    .isEqualTo(1);
        });
        // One access-log line per hop, written when the connection closed, on the HTTP access log's writer.
        String sni = "8443.orders.shop.svc.clusterset.local";
        JsonNode out = await().atMost(Duration.ofSeconds(5)).until(() -> passthroughLine(a, sni), Optional::isPresent)
                .get();
        JsonNode in = await().atMost(Duration.ofSeconds(5)).until(() -> passthroughLine(fed.cluster("b"), sni),
                Optional::isPresent).get();
        assertThat(out.path("direction").asText()).isEqualTo("egress");
        assertThat(out.path("source_cluster").asText()).isEqualTo("a");
        assertThat(out.path("destination_cluster").asText()).isEqualTo("b");
        assertThat(out.path("upstream").asText()).startsWith("cluster b ingress");
        assertThat(in.path("direction").asText()).isEqualTo("ingress");
        assertThat(in.path("source_cluster").asText()).as("the ingress never sees the caller's certificate")
                .isEqualTo("unknown");
        assertThat(in.path("destination_cluster").asText()).isEqualTo("b");
        for (JsonNode line : List.of(out, in)) {
            assertThat(line.path("decision").asText()).isEqualTo("relayed");
            assertThat(line.path("code").asInt()).isEqualTo(200);
            assertThat(line.path("caller").asText()).isEqualTo("unknown");
            assertThat(line.path("destination_service").asText()).isEqualTo(ORDERS.host());
            assertThat(line.has("method") || line.has("path")).as("no request was seen").isFalse();
            // Both ways carry a TLS 1.3 handshake (certificates included) and the echoed line.
            assertThat(line.path("bytes_in").asLong()).isGreaterThan(500);
            assertThat(line.path("bytes_out").asLong()).isGreaterThan(500);
        }
        // (Not bytes_out: the workload's close_notify may reach b's ingress after a's egress closed its side.)
        assertThat(in.path("bytes_in").asLong()).as("the ingress relays what the egress relayed")
                .isEqualTo(out.path("bytes_in").asLong());
    }

    private static Optional<JsonNode> passthroughLine(Federation.Cluster c, String sni) throws IOException {
        for (String line : c.accessLog) {
            JsonNode n = JSON.readTree(line);
            if (n.path("kind").asText().equals("passthrough") && n.path("sni").asText().equals(sni)) {
                return Optional.of(n);
            }
        }
        return Optional.empty();
    }

    @Test
    void passthroughNeverReachesAPortWhoseBackendExpectsTheGatewayToAuthorize() throws Exception {
        Federation.Cluster a = fed.cluster("a");
        Federation.Cluster b = fed.cluster("b");
        X509Svid vm = TestCa.svid(a.ca, VM);
        SSLContext anyServer = TlsContexts.create(() -> vm, new SpiffeTrustManager(a.verifier(), PeerPolicy.anyFederated()));
        int legacyBefore = legacy.accepted.get();
        double refusedBefore = b.counter("isthmus_sni_routes_total", "route", "sni-backend-shared")
                + b.counter("isthmus_sni_routes_total", "route", "sni-http-port");
        // Straight at b's ingress: a passthrough port sharing the plain backend, and the plain port itself.
        for (String name : List.of("9443.legacy.shop.svc.clusterset.local", "80.legacy.shop.svc.clusterset.local",
                "80.payments.billing.svc.clusterset.local")) {
            assertThatThrownBy(() -> sni(anyServer, b.ingress.address(), name).getInputStream().read())
                    .as(name).isInstanceOf(IOException.class);
        }
        assertThat(legacy.accepted.get()).isEqualTo(legacyBefore);
        assertThat(b.counter("isthmus_sni_routes_total", "route", "sni-backend-shared")
                + b.counter("isthmus_sni_routes_total", "route", "sni-http-port")).isEqualTo(refusedBefore + 3);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(passthroughLine(b,
                "9443.legacy.shop.svc.clusterset.local")).hasValueSatisfying(n -> {
                    assertThat(n.path("decision").asText()).isEqualTo("sni-backend-shared");
                    assertThat(n.path("reason").asText()).isEqualTo("sni-backend-shared");
                    assertThat(n.path("bytes_out").asLong()).isZero();
                }));
        // Through a's egress, a name that is not a passthrough port is terminated by the gateway, as any TLS caller:
        // the caller, expecting the workload, refuses the gateway's certificate; nothing is relayed.
        SSLContext toLegacyWorkload = TlsContexts.create(() -> vm, new SpiffeTrustManager(a.verifier(),
                PeerPolicy.exactly(SpiffeId.parse("spiffe://b.acme.internal/ns/shop/sa/legacy"))));
        assertThatThrownBy(() -> sni(toLegacyWorkload, a.egress.address(), "80.legacy.shop.svc.clusterset.local"))
                .isInstanceOf(IOException.class);
        assertThat(legacy.accepted.get()).isEqualTo(legacyBefore);
    }

    @Test
    void connectionsWithoutARouteNameAreServedAsBefore() throws Exception {
        Federation.Cluster a = fed.cluster("a");
        // The gateway's own host name, as an SNI-sending client dialling the ingress by name would send it.
        try (RawHttp http = RawHttp.tls(fed.cluster("b").ingress.address(), a.clientContext(a.gateway), "gw-b.example")) {
            RawHttp.Response r = http.exchange(RawHttp.get("/", Federation.PAYMENTS.host(),
                    "x-isthmus-caller: " + Federation.CHECKOUT));
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).contains("cluster=b");
        }
    }

    private Map.Entry<AccessRequest, Decision> onlyDecisionFor(MeshName name) {
        await().atMost(Duration.ofSeconds(5)).until(() -> fed.audited.stream()
                .anyMatch(e -> e.getKey().destination().equals(name)));
        List<Map.Entry<AccessRequest, Decision>> matching = fed.audited.stream()
                .filter(e -> e.getKey().destination().equals(name)).toList();
        assertThat(matching).hasSize(1);
        return matching.get(0);
    }

    private static SSLSocket sni(SSLContext ctx, InetSocketAddress to, String serverName) throws IOException {
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(to.getAddress(), to.getPort());
        s.setSoTimeout(10_000);
        SSLParameters p = s.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName(serverName)));
        s.setSSLParameters(p);
        s.startHandshake();
        return s;
    }

    private static BufferedReader lines(Socket s) throws IOException {
        s.setSoTimeout(10_000);
        return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
    }

    private static void send(Socket s, String line) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
