package io.isthmus.gateway.proxy;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;
import io.isthmus.trust.tls.TlsContexts;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The gateway runs its data plane with its own SVID, bundles and policy file: a local workload with an SVID from the
 * gateway's CA calls a mesh name through the egress, the static route leads to the gateway's own ingress over mTLS,
 * and the destination's policy decides. The caller the policy allows reaches the backend, which sees its SPIFFE ID
 * passed on by the gateway; any other caller is denied with the reason.
 */
@QuarkusTest
@QuarkusTestResource(value = EchoBackendResource.class, restrictToAnnotatedClass = true)
class GatewayProxyTest {
    private static final String GATEWAY = "spiffe://test.isthmus.local/ns/isthmus-system/sa/isthmus-gateway";
    private static final String REQUEST = "GET /x HTTP/1.1\r\nHost: " + EchoBackendResource.ECHO
            + "\r\nConnection: close\r\n\r\n";

    @Inject
    ProxyService proxy;

    @Inject
    TrustService trust;

    @TestHTTPResource(value = "/metrics", management = true)
    URL metrics;

    private static String call(InetSocketAddress to, SSLContext tls, String request) throws IOException {
        try (Socket s = tls == null ? new Socket(to.getAddress(), to.getPort())
                : tls.getSocketFactory().createSocket(to.getAddress(), to.getPort())) {
            s.setSoTimeout(10_000);
            if (s instanceof SSLSocket ssl) {
                ssl.startHandshake();
            }
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    private SSLContext workloadTls(String id) {
        TrustRuntime runtime = trust.runtime();
        X509Svid svid = runtime.ca().issue(SpiffeId.parse(id), Duration.ofMinutes(10));
        return TlsContexts.create(() -> svid, new SpiffeTrustManager(runtime.verifier(), PeerPolicy.anyFederated()));
    }

    @Test
    void allowedWorkloadReachesTheBackendWhichSeesItsIdentityPassedOnByTheGateway() throws Exception {
        String response = call(proxy.egressAddress().orElseThrow(), workloadTls(EchoBackendResource.CHECKOUT), REQUEST);
        assertThat(response).startsWith("HTTP/1.1 200")
                .endsWith("\r\n\r\nxfcc=By=" + GATEWAY + ";URI=" + EchoBackendResource.CHECKOUT + "\n");
    }

    @Test
    void workloadThePolicyDoesNotAllowIsDeniedAtTheIngressWithTheReason() throws Exception {
        String cart = "spiffe://test.isthmus.local/ns/shop/sa/cart";
        String response = call(proxy.egressAddress().orElseThrow(), workloadTls(cart), REQUEST);
        assertThat(response).startsWith("HTTP/1.1 403").contains("x-isthmus-reason: no-matching-allow")
                .doesNotContain("xfcc=");
        // Both listeners count it by cluster pair and trust domain (bounded labels): the caller's ID is not a label.
        String labels = "{code=\"403\",destination_cluster=\"test-cluster\",destination_service=\""
                + EchoBackendResource.ECHO + "\",direction=\"%s\",source_cluster=\"test-cluster\","
                + "source_trust_domain=\"test.isthmus.local\"}";
        given().when().get(metrics).then().statusCode(200)
                .body(containsString("isthmus_requests_total" + labels.formatted("ingress")))
                .body(containsString("isthmus_requests_total" + labels.formatted("egress")))
                .body(not(containsString(cart)))
                .body(containsString("isthmus_authz_denials_total{reason=\"no-matching-allow\"}"));
    }

    @Test
    void egressRefusesAnUnauthenticatedWorkload() throws Exception {
        String response = call(proxy.egressAddress().orElseThrow(), null, REQUEST);
        assertThat(response).startsWith("HTTP/1.1 401").contains("x-isthmus-reason: no-credential");
    }

    @Test
    void ingressSpeaksOnlyTls() throws Exception {
        InetSocketAddress ingress = proxy.ingressAddress().orElseThrow();
        // Something listens there, and it is the gateway's TLS: a handshake with an SVID of this cluster completes.
        try (SSLSocket s = (SSLSocket) workloadTls(GATEWAY).getSocketFactory().createSocket(ingress.getAddress(),
                ingress.getPort())) {
            s.setSoTimeout(10_000);
            s.startHandshake();
            assertThat(TlsContexts.peerId(s.getSession())).hasValueSatisfying(id -> assertThat(id).hasToString(GATEWAY));
        }
        // Plaintext HTTP gets no HTTP answer: the connection is closed (or reset), at most after a TLS alert record.
        byte[] answer = plaintextAnswer(ingress, REQUEST);
        assertThat(new String(answer, StandardCharsets.ISO_8859_1)).doesNotContain("HTTP/");
        if (answer.length > 0) {
            assertThat(answer[0]).as("a TLS alert record (content type 21)").isEqualTo((byte) 0x15);
        }
    }

    /**
     * One address opens 12 idle TCP connections to the ingress and another 12 to the egress, whose limit per client is
     * set to 8 here ({@code isthmus.proxy.ingress.max-connections-per-client}, {@code egress.}): at each listener 4
     * are closed at accept and counted in the metric, by listener; a workload at 127.0.0.1 is served meanwhile.
     */
    @Test
    void eachListenerRefusesOneClientsConnectionsBeyondItsConfiguredLimitAndCountsThem() throws Exception {
        List<Socket> idle = new ArrayList<>();
        try {
            idle.addAll(idle(InetAddress.getByAddress(new byte[] {127, 0, 0, 72}), proxy.ingressAddress().orElseThrow(),
                    12));
            idle.addAll(idle(InetAddress.getByAddress(new byte[] {127, 0, 0, 73}), proxy.egressAddress().orElseThrow(),
                    12));
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> given().when().get(metrics).then()
                    .statusCode(200)
                    .body(containsString("isthmus_refused_connections_total{listener=\"ingress\","
                            + "reason=\"max-connections-per-client\"} 4.0"))
                    .body(containsString("isthmus_refused_connections_total{listener=\"egress\","
                            + "reason=\"max-connections-per-client\"} 4.0")));
            assertThat(call(proxy.egressAddress().orElseThrow(), workloadTls(EchoBackendResource.CHECKOUT), REQUEST))
                    .startsWith("HTTP/1.1 200");
        } finally {
            for (Socket s : idle) {
                s.close();
            }
        }
    }

    private static List<Socket> idle(InetAddress from, InetSocketAddress to, int n) throws IOException {
        List<Socket> opened = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Socket s = new Socket();
            opened.add(s);
            s.bind(new InetSocketAddress(from, 0));
            s.connect(to, 5_000);
        }
        return opened;
    }

    /** The bytes a plaintext client gets before the connection ends; fails if it stays open and silent. */
    private static byte[] plaintextAnswer(InetSocketAddress to, String request) throws IOException {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        try (Socket s = new Socket(to.getAddress(), to.getPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            s.getInputStream().transferTo(got);
        } catch (SocketTimeoutException e) {
            fail("the ingress kept a plaintext connection open without closing it for 10 s (got %d bytes)", got.size());
        } catch (SocketException e) {
            // reset by the ingress: a refusal as well
        }
        return got.toByteArray();
    }
}
