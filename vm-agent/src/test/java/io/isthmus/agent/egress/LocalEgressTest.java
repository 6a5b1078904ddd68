package io.isthmus.agent.egress;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;

import io.isthmus.agent.gateway.GatewayClient;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.tls.SvidKeyManager;
import io.isthmus.trust.x509.Certificates;

/**
 * The local egress forwards a plain HTTP request (Host header or absolute URI naming a mesh service) to the
 * gateway egress over TLS, presenting the VM's SVID and keeping the mesh name as Host. The stand-in gateway egress
 * is a JDK HTTPS server with the gateway's SVID that records the client certificate and Host it saw.
 */
class LocalEgressTest {
    static {
        LocalEgress.allowHostHeader();
    }

    @Test
    void forwardsWithTheVmSvidAndTheMeshHost() throws Exception {
        TestCa ca = TestCa.create();
        CaCredential inter = ca.intermediate("vm.test");
        X509Svid gateway = TestCa.svid(inter, "spiffe://vm.test" + GatewayClient.GATEWAY_PATH);
        X509Svid vm = TestCa.svid(inter, "spiffe://vm.test/ns/shop/sa/orders-vm");

        SSLContext serverTls = SSLContext.getInstance("TLS");
        serverTls.init(new javax.net.ssl.KeyManager[] {new SvidKeyManager(() -> gateway)},
                new TrustManager[] {new RecordingTrustManager()}, null);
        HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        server.setHttpsConfigurator(new HttpsConfigurator(serverTls) {
            @Override
            public void configure(HttpsParameters params) {
                SSLParameters p = serverTls.getDefaultSSLParameters();
                p.setNeedClientAuth(true);
                params.setSSLParameters(p);
            }
        });
        AtomicReference<String> seenHost = new AtomicReference<>();
        AtomicReference<String> seenCaller = new AtomicReference<>();
        AtomicReference<String> seenPath = new AtomicReference<>();
        server.createContext("/", ex -> {
            try (ex) {
                seenHost.set(ex.getRequestHeaders().getFirst("Host"));
                seenPath.set(ex.getRequestURI().toString());
                X509Certificate peer = (X509Certificate) ((HttpsExchange) ex).getSSLSession().getPeerCertificates()[0];
                seenCaller.set(Certificates.uriSans(peer).get(0));
                byte[] b = "hello from the mesh".getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("X-Served-By", "fake-egress");
                ex.sendResponseHeaders(200, b.length);
                try (OutputStream o = ex.getResponseBody()) {
                    o.write(b);
                }
            }
        });
        server.start();
        GatewayClient gatewayClient = new GatewayClient(URI.create("https://127.0.0.1:1"), ca.roots(),
                TrustDomain.parse("vm.test"), Clock.systemUTC());
        try (LocalEgress egress = LocalEgress.start(new InetSocketAddress("127.0.0.1", 0), server.getAddress(),
                gatewayClient.httpClient(() -> vm, td -> Optional.empty()));
                HttpClient app = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            String local = "http://127.0.0.1:" + egress.address().getPort();
            HttpResponse<String> r = app.send(HttpRequest.newBuilder(URI.create(local + "/pay?x=1"))
                    .header("Host", "payments.billing.svc.clusterset.local").build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("hello from the mesh");
            assertThat(r.headers().firstValue("X-Served-By")).contains("fake-egress");
            assertThat(seenHost.get()).isEqualTo("payments.billing.svc.clusterset.local");
            assertThat(seenPath.get()).isEqualTo("/pay?x=1");
            assertThat(seenCaller.get()).isEqualTo("spiffe://vm.test/ns/shop/sa/orders-vm");

            // absolute URI, as an HTTP proxy client sends it
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", egress.address().getPort())) {
                s.getOutputStream().write(("GET http://ledger.shop.svc.clusterset.local:8080/l HTTP/1.1\r\n"
                        + "Host: ledger.shop.svc.clusterset.local:8080\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(answer).startsWith("HTTP/1.1 200").endsWith("hello from the mesh");
            }
            assertThat(seenHost.get()).isEqualTo("ledger.shop.svc.clusterset.local:8080");
            assertThat(seenPath.get()).isEqualTo("/l");

            HttpResponse<String> noHost = app.send(HttpRequest.newBuilder(URI.create(local + "/x"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            // the JDK client always sends Host 127.0.0.1:<port>; the gateway egress refuses that name, here the
            // stand-in accepts it: only check it went through
            assertThat(noHost.statusCode()).isEqualTo(200);
        } finally {
            server.stop(0);
        }
    }

    /** Accepts any client chain (the stand-in only records which SVID the agent presented). */
    private static final class RecordingTrustManager implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
            throw new UnsupportedOperationException();
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
