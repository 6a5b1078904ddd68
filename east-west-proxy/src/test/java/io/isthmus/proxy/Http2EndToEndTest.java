package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;

/**
 * HTTP/2 on both listeners: callers speak h2 (ALPN over TLS with their SVID, or h2c prior knowledge with a bearer
 * token) to a's egress, and a peer gateway speaks h2 to b's ingress. Each stream is served by the same request
 * handling as HTTP/1.1: the backend sees the verified caller, the destination's policy decides.
 */
class Http2EndToEndTest {
    private static final String PAYMENTS = "payments.billing.svc.clusterset.local";
    private Federation fed;

    @BeforeEach
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(5),
                Duration.ofSeconds(1)).withMaxHeaderSize(8192));
    }

    @AfterEach
    void stop() {
        fed.close();
    }

    private SpiffeTrustManager trust() {
        return new SpiffeTrustManager(fed.cluster("a").verifier(), PeerPolicy.anyFederated());
    }

    @Test
    void svidCallerOverH2ReachesBAndDeniedCallerGets403OnTheSameConnectionKind() throws Exception {
        X509Svid checkout = TestCa.svid(fed.cluster("a").ca, Federation.CHECKOUT);
        InetSocketAddress egress = fed.cluster("a").egress.address();
        try (H2Client h2 = H2Client.tls(egress, checkout, trust())) {
            assertThat(h2.negotiated()).isEqualTo("h2");
            H2Client.Response r = h2.get("/charge?amount=7", PAYMENTS);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).contains("cluster=b")
                    .contains("xfcc=By=spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway;URI="
                            + Federation.CHECKOUT)
                    .contains("path=/charge?amount=7");
            // Several streams on the one connection.
            for (int i = 0; i < 3; i++) {
                assertThat(h2.get("/again/" + i, PAYMENTS).body()).contains("path=/again/" + i);
            }
        }
        X509Svid cart = TestCa.svid(fed.cluster("a").ca, Federation.CART);
        try (H2Client h2 = H2Client.tls(egress, cart, trust())) {
            H2Client.Response denied = h2.get("/charge", PAYMENTS);
            assertThat(denied.status()).isEqualTo(403);
            assertThat(denied.reason()).isEqualTo("no-matching-allow");
            // The stream was refused, not the connection: the next stream is answered too.
            assertThat(h2.get("/other", PAYMENTS).status()).isEqualTo(403);
        }
    }

    @Test
    void h2cPriorKnowledgeWithBearerToken() throws Exception {
        try (H2Client h2 = H2Client.h2c(fed.cluster("a").egress.address())) {
            H2Client.Response r = h2.get("/h2c", PAYMENTS, "authorization: Bearer checkout");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).contains("cluster=b").contains("URI=" + Federation.CHECKOUT);
            assertThat(h2.get("/h2c", PAYMENTS).status()).isEqualTo(401);
        }
        // HTTP/1.1 on the same plaintext port still works.
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            assertThat(http.exchange(RawHttp.get("/", PAYMENTS, "Authorization: Bearer checkout")).status())
                    .isEqualTo(200);
        }
    }

    @Test
    void peerGatewayOverH2AtTheIngress() throws Exception {
        Federation.Cluster a = fed.cluster("a");
        Federation.Cluster b = fed.cluster("b");
        try (H2Client h2 = H2Client.tls(b.ingress.address(), a.gateway, trust())) {
            assertThat(h2.negotiated()).isEqualTo("h2");
            H2Client.Response ok = h2.get("/direct", PAYMENTS, "x-isthmus-caller: " + Federation.CHECKOUT);
            assertThat(ok.status()).isEqualTo(200);
            assertThat(ok.body()).contains("cluster=b").contains("URI=" + Federation.CHECKOUT)
                    .contains("caller-header=null");
            H2Client.Response denied = h2.get("/direct", PAYMENTS, "x-isthmus-caller: " + Federation.CART);
            assertThat(denied.status()).isEqualTo(403);
            assertThat(denied.reason()).isEqualTo("no-matching-allow");
            H2Client.Response foreign = h2.get("/direct", PAYMENTS,
                    "x-isthmus-caller: spiffe://c.acme.internal/ns/shop/sa/checkout");
            assertThat(foreign.status()).isEqualTo(403);
            assertThat(foreign.reason()).isEqualTo("caller-outside-peer-trust-domain");
        }
        // Without a client certificate the h2 handshake is refused like the HTTP/1.1 one.
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> {
            try (H2Client h2 = H2Client.tls(b.ingress.address(), null, trust())) {
                h2.get("/direct", PAYMENTS, "x-isthmus-caller: " + Federation.CHECKOUT);
            }
        }).isInstanceOf(Exception.class);
    }

    @Test
    void unknownServiceAndNonMeshHostOverH2Get404AndTheConnectionStays() throws Exception {
        X509Svid checkout = TestCa.svid(fed.cluster("a").ca, Federation.CHECKOUT);
        try (H2Client h2 = H2Client.tls(fed.cluster("a").egress.address(), checkout, trust())) {
            H2Client.Response unknown = h2.get("/", "nothing.nowhere.svc.clusterset.local");
            assertThat(unknown.status()).isEqualTo(404);
            assertThat(unknown.reason()).isEqualTo("unknown-service");
            H2Client.Response notMesh = h2.get("/", "example.com");
            assertThat(notMesh.status()).isEqualTo(404);
            assertThat(notMesh.reason()).isEqualTo("not-a-mesh-name");
            assertThat(h2.get("/fine", PAYMENTS).status()).isEqualTo(200);
        }
    }

    @Test
    void revokedPeerLosesItsOpenH2Connection() throws Exception {
        Federation.Cluster a = fed.cluster("a");
        Federation.Cluster b = fed.cluster("b");
        try (H2Client h2 = H2Client.tls(b.ingress.address(), a.gateway, trust())) {
            assertThat(h2.get("/before", PAYMENTS, "x-isthmus-caller: " + Federation.CHECKOUT).status())
                    .isEqualTo(200);
            fed.revoke(a);
            b.ingress.revalidate();
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> !h2.isOpen());
        }
    }

    /**
     * A retirement drains instead of cutting: the peer's SVID had expired before its signer left the bundle, so the
     * connection gets a GOAWAY, the request in flight on it completes, and the connection closes once it is idle.
     */
    @Test
    void retiredPeersConnectionFinishesItsStreamsThenCloses() throws Exception {
        Federation.Cluster a = fed.cluster("a");
        Federation.Cluster b = fed.cluster("b");
        io.isthmus.trust.svid.X509Svid expiring = new io.isthmus.trust.ca.SvidIssuer(java.time.Clock.systemUTC())
                .issue(a.ca, a.gateway.id(), Duration.ofSeconds(1));
        try (H2Client h2 = H2Client.tls(b.ingress.address(), expiring, trust())) {
            assertThat(h2.get("/before", PAYMENTS, "x-isthmus-caller: " + Federation.CHECKOUT).status()).isEqualTo(200);
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5))
                    .until(() -> java.time.Instant.now().isAfter(expiring.notAfter()));
            java.util.concurrent.CompletableFuture<H2Client.Response> slow = java.util.concurrent.CompletableFuture
                    .supplyAsync(() -> {
                        try {
                            return h2.get("/slow", PAYMENTS, "x-isthmus-caller: " + Federation.CHECKOUT);
                        } catch (Exception e) {
                            throw new java.util.concurrent.CompletionException(e);
                        }
                    });
            org.awaitility.Awaitility.await("the slow request reached b's backend").atMost(Duration.ofSeconds(5))
                    .until(() -> b.slowCallsStarted.get() == 1);
            fed.revoke(a);
            b.ingress.revalidate();
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5))
                    .until(() -> b.counter("isthmus_connections_drained_total", "listener", "ingress") == 1);
            assertThat(slow.get(10, java.util.concurrent.TimeUnit.SECONDS).status())
                    .as("the request in flight completes").isEqualTo(200);
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> !h2.isOpen());
            assertThat(b.counter("isthmus_connections_revoked_total")).isZero();
        }
    }
}
