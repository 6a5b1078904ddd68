package io.isthmus.gateway.proxy;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

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
 * The gateway runs its data plane with its own SVID and bundles: a local workload with an SVID from the gateway's
 * CA calls a mesh name through the egress, the static route leads to the gateway's own ingress over mTLS, and the
 * destination's policy decides. Without a policy engine deployed that decision is deny.
 */
@QuarkusTest
@QuarkusTestResource(value = EchoBackendResource.class, restrictToAnnotatedClass = true)
class GatewayProxyTest {
    @Inject
    ProxyService proxy;

    @Inject
    TrustService trust;

    @TestHTTPResource(value = "/metrics", management = true)
    URL metrics;

    private String call(InetSocketAddress to, SSLContext tls, String request) throws Exception {
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
        } catch (java.io.IOException e) {
            return "refused: " + e;
        }
    }

    private SSLContext workloadTls(String id) {
        TrustRuntime runtime = trust.runtime();
        X509Svid svid = runtime.ca().issue(SpiffeId.parse(id), Duration.ofMinutes(10));
        return TlsContexts.create(() -> svid, new SpiffeTrustManager(runtime.verifier(), PeerPolicy.anyFederated()));
    }

    @Test
    void workloadWithSvidReachesTheDestinationPolicyThroughEgressAndIngress() throws Exception {
        String response = call(proxy.egressAddress().orElseThrow(),
                workloadTls("spiffe://test.isthmus.local/ns/shop/sa/checkout"),
                "GET /x HTTP/1.1\r\nHost: " + EchoBackendResource.ECHO + "\r\nConnection: close\r\n\r\n");
        // No policy engine in this test app: the destination denies by default, with the reason code.
        assertThat(response).startsWith("HTTP/1.1 403").contains("x-isthmus-reason: no-matching-allow");
        given().when().get(metrics).then().statusCode(200)
                .body(containsString("isthmus_requests_total{code=\"403\",destination_service=\""
                        + EchoBackendResource.ECHO + "\",direction=\"ingress\","
                        + "source_principal=\"spiffe://test.isthmus.local/ns/shop/sa/checkout\"}"))
                .body(containsString("isthmus_authz_denials_total{reason=\"no-matching-allow\"}"));
    }

    @Test
    void egressRefusesAnUnauthenticatedWorkload() throws Exception {
        String response = call(proxy.egressAddress().orElseThrow(), null,
                "GET /x HTTP/1.1\r\nHost: " + EchoBackendResource.ECHO + "\r\nConnection: close\r\n\r\n");
        assertThat(response).startsWith("HTTP/1.1 401").contains("x-isthmus-reason: no-credential");
    }

    @Test
    void ingressRefusesPlaintext() throws Exception {
        String response = call(proxy.ingressAddress().orElseThrow(), null,
                "GET /x HTTP/1.1\r\nHost: " + EchoBackendResource.ECHO + "\r\n\r\n");
        assertThat(response).doesNotContain("HTTP/1.1");
    }
}
