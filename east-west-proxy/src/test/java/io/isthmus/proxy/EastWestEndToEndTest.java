package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetSocketAddress;
import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.isthmus.proxy.authz.Decision;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServicePort;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;

/**
 * Three clusters on loopback: a caller in a calls payments.billing, exported by b (nearer) and c, through a's egress
 * and b's ingress, over real mTLS with SVIDs from one test root. Proves that the backend learns the verified
 * caller identity, that the destination's policy decides, that a gateway cannot vouch for another trust domain,
 * and that calls fail over to c when b's gateway stops.
 */
class EastWestEndToEndTest {
    private static final String PAYMENTS = "payments.billing.svc.clusterset.local";
    private Federation fed;

    @BeforeEach
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(30),
                Duration.ofSeconds(1)).withMaxHeaderSize(8192));
    }

    @AfterEach
    void stop() {
        fed.close();
    }

    private InetSocketAddress egressA() {
        return fed.cluster("a").egress.address();
    }

    @Test
    void callerInAReachesPaymentsInBAndBackendSeesVerifiedCaller() throws Exception {
        try (RawHttp http = RawHttp.plain(egressA())) {
            RawHttp.Response r = http.exchange(RawHttp.get("/charge?amount=5", PAYMENTS, "Authorization: Bearer checkout"));
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).contains("cluster=b")
                    .contains("xfcc=By=spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway;URI="
                            + Federation.CHECKOUT)
                    .contains("caller-header=null").contains("path=/charge?amount=5");
            // Same connection, HTTP proxy style (absolute URI): keep-alive works and the route is the same.
            RawHttp.Response again = http.exchange("GET http://" + PAYMENTS + "/refund HTTP/1.1\r\nHost: " + PAYMENTS
                    + "\r\nProxy-Authorization: Bearer checkout\r\n\r\n");
            assertThat(again.status()).isEqualTo(200);
            assertThat(again.body()).contains("cluster=b").contains("path=/refund");
        }
        assertThat(fed.asked).anySatisfy(a -> {
            assertThat(a.source().toString()).isEqualTo(Federation.CHECKOUT);
            assertThat(a.destination().host()).isEqualTo(PAYMENTS);
            assertThat(a.method()).contains("GET");
            assertThat(a.path()).contains("/charge");
            assertThat(a.port()).isEqualTo(80);
        });
        assertThat(fed.logged).hasSize(2).allMatch(Decision::allowed);
        // b counts an exchange once it wrote the response's end, which the caller may read first: await the count.
        // Both gateways count them under the cluster pair a -> b (bounded labels; the caller is in the access log).
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            for (String[] at : new String[][] {{"a", "egress"}, {"b", "ingress"}}) {
                assertThat(fed.cluster(at[0]).counter("isthmus_requests_total", "direction", at[1], "source_cluster",
                        "a", "destination_cluster", "b", "source_trust_domain", "a.acme.internal",
                        "destination_service", PAYMENTS, "code", "200")).as(at[1]).isEqualTo(2);
            }
            assertThat(fed.cluster("b").accessLog).filteredOn(l -> l.contains("\"path\":\"/refund\""))
                    .singleElement().satisfies(l -> assertThat(l).contains("\"direction\":\"ingress\"",
                            "\"source_cluster\":\"a\"", "\"destination_cluster\":\"b\"",
                            "\"caller\":\"" + Federation.CHECKOUT + "\"",
                            "\"peer_gateway\":\"spiffe://a.acme.internal/ns/isthmus-system/sa/isthmus-gateway\"",
                            "\"code\":200"));
            assertThat(fed.cluster("a").accessLog).filteredOn(l -> l.contains("\"path\":\"/refund\""))
                    .singleElement().satisfies(l -> assertThat(l).contains("\"direction\":\"egress\"",
                            "\"source_cluster\":\"a\"", "\"destination_cluster\":\"b\"", "\"code\":200"));
        });
    }

    @Test
    void callerAuthenticatedByItsOwnSvidOverTls() throws Exception {
        X509Svid checkout = TestCa.svid(fed.cluster("a").ca, Federation.CHECKOUT);
        try (RawHttp http = RawHttp.tls(egressA(), fed.cluster("a").clientContext(checkout))) {
            RawHttp.Response r = http.exchange(RawHttp.get("/", PAYMENTS));
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).contains("URI=" + Federation.CHECKOUT);
        }
    }

    @Test
    void identityHeadersFromTheCallerAreReplaced() throws Exception {
        try (RawHttp http = RawHttp.plain(egressA())) {
            RawHttp.Response r = http.exchange(RawHttp.get("/", PAYMENTS, "Authorization: Bearer checkout",
                    "x-isthmus-caller: spiffe://a.acme.internal/ns/kube-system/sa/admin",
                    "x-forwarded-client-cert: By=x;URI=spiffe://a.acme.internal/ns/kube-system/sa/admin"));
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).contains("URI=" + Federation.CHECKOUT).doesNotContain("admin");
        }
    }

    @Test
    void callerWithoutPermissionGets403WithReason() throws Exception {
        try (RawHttp http = RawHttp.plain(egressA())) {
            RawHttp.Response r = http.exchange(RawHttp.get("/charge", PAYMENTS, "Authorization: Bearer cart"));
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.reason()).isEqualTo("no-matching-allow");
            assertThat(r.body()).contains("\"reason\":\"no-matching-allow\"").contains(Federation.CART);
            // The refusal does not cost the caller its connection.
            RawHttp.Response ok = http.exchange(RawHttp.get("/", PAYMENTS, "Authorization: Bearer checkout"));
            assertThat(ok.status()).isEqualTo(200);
        }
        assertThat(fed.cluster("b").backendSawXfcc).noneMatch(x -> x.contains(Federation.CART));
        assertThat(fed.logged).anyMatch(d -> !d.allowed());
        assertThat(fed.cluster("b").counter("isthmus_authz_denials_total", "reason", "no-matching-allow")).isEqualTo(1);
    }

    @Test
    void destinationRefusesAnIdentityOfAnotherTrustDomainEvenIfThePeerGatewayAssertsIt() throws Exception {
        // a's genuine gateway SVID, asserting a caller of trust domain c: a may vouch only for a's identities.
        Federation.Cluster a = fed.cluster("a");
        try (RawHttp http = RawHttp.tls(fed.cluster("b").ingress.address(), a.clientContext(a.gateway))) {
            RawHttp.Response r = http.exchange(RawHttp.get("/", PAYMENTS,
                    "x-isthmus-caller: spiffe://c.acme.internal/ns/shop/sa/checkout"));
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.reason()).isEqualTo("caller-outside-peer-trust-domain");
            assertThat(r.body()).contains("may vouch only for identities of a.acme.internal");
            // The same gateway vouching for its own trust domain is accepted on the same connection.
            RawHttp.Response ok = http.exchange(RawHttp.get("/", PAYMENTS, "x-isthmus-caller: " + Federation.CHECKOUT));
            assertThat(ok.status()).isEqualTo(200);
        }
        assertThat(fed.asked).noneMatch(req -> req.source().toString().startsWith("spiffe://c."));
        assertThat(fed.cluster("b").backendSawXfcc).noneMatch(x -> x.contains("spiffe://c."));
        // The refusal is an audit line like any policy decision: the asserted caller, the gateway that vouched.
        assertThat(fed.audited).anySatisfy(e -> {
            assertThat(e.getKey().source().toString()).isEqualTo("spiffe://c.acme.internal/ns/shop/sa/checkout");
            assertThat(e.getKey().peerGateway()).contains(a.gateway.id());
            assertThat(e.getKey().path()).contains("/");
            assertThat(e.getValue()).isInstanceOfSatisfying(Decision.Denied.class, d -> assertThat(d.reason())
                    .isEqualTo(io.isthmus.proxy.authz.DenyReason.CALLER_OUTSIDE_PEER_TRUST_DOMAIN));
        });
        // Allowed calls name their peer gateway too.
        assertThat(fed.audited).anySatisfy(e -> {
            assertThat(e.getKey().source().toString()).isEqualTo(Federation.CHECKOUT);
            assertThat(e.getKey().peerGateway()).contains(a.gateway.id());
            assertThat(e.getValue().allowed()).isTrue();
        });
    }

    @Test
    void ingressRequiresAVouchedCaller() throws Exception {
        Federation.Cluster a = fed.cluster("a");
        try (RawHttp http = RawHttp.tls(fed.cluster("b").ingress.address(), a.clientContext(a.gateway))) {
            assertThat(http.exchange(RawHttp.get("/", PAYMENTS)).reason()).isEqualTo("missing-caller-identity");
            assertThat(http.exchange(RawHttp.get("/", PAYMENTS, "x-isthmus-caller: root")).reason())
                    .isEqualTo("invalid-caller-identity");
        }
        // Audited with the peer gateway as the caller (the only identity there is).
        assertThat(fed.audited).filteredOn(e -> e.getValue() instanceof Decision.Denied d
                && (d.reason() == io.isthmus.proxy.authz.DenyReason.MISSING_CALLER_IDENTITY
                        || d.reason() == io.isthmus.proxy.authz.DenyReason.INVALID_CALLER_IDENTITY))
                .hasSize(2).allSatisfy(e -> {
                    assertThat(e.getKey().source()).isEqualTo(a.gateway.id());
                    assertThat(e.getKey().peerGateway()).contains(a.gateway.id());
                });
    }

    @Test
    void callsFailOverToCWithinBoundedTimeWhenBsGatewayStops() throws Exception {
        try (RawHttp http = RawHttp.plain(egressA())) {
            assertThat(http.exchange(RawHttp.get("/", PAYMENTS, "Authorization: Bearer checkout")).body())
                    .contains("cluster=b");
        }
        fed.cluster("b").stopGateway();
        // The bound is the await's: b's closed port costs one refused connect (1 s connect timeout at most).
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            try (RawHttp http = RawHttp.plain(egressA())) {
                RawHttp.Response r = http.exchange(RawHttp.get("/", PAYMENTS, "Authorization: Bearer checkout"));
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).contains("cluster=c").contains("By=spiffe://c.acme.internal/");
            }
        });
        // Every later call goes to c directly: b's connection refusal costs no request.
        for (int i = 0; i < 5; i++) {
            try (RawHttp http = RawHttp.plain(egressA())) {
                assertThat(http.exchange(RawHttp.get("/", PAYMENTS, "Authorization: Bearer checkout")).status())
                        .isEqualTo(200);
            }
        }
    }

    @Test
    void noReachableClusterIs502WithEveryAttemptNamed() throws Exception {
        fed.cluster("b").stopGateway();
        fed.cluster("c").stopGateway();
        try (RawHttp http = RawHttp.plain(egressA())) {
            RawHttp.Response r = http.exchange(RawHttp.get("/", PAYMENTS, "Authorization: Bearer checkout"));
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.reason()).isEqualTo("no-cluster-reachable");
            assertThat(r.body()).contains("127.0.0.1:" + fed.cluster("b").ingress.address().getPort())
                    .contains("127.0.0.1:" + fed.cluster("c").ingress.address().getPort());
        }
    }

    @Test
    void tcpTunnelThroughConnectReachesTheBackendAuthorizedPerConnection() throws Exception {
        String connect = "CONNECT " + PAYMENTS + ":80 HTTP/1.1\r\nHost: " + PAYMENTS + ":80\r\n";
        try (RawHttp http = RawHttp.plain(egressA())) {
            RawHttp.Response opened = http.exchange(connect + "Proxy-Authorization: Bearer checkout\r\n\r\n");
            assertThat(opened.status()).isEqualTo(200);
            // From here on the bytes are the caller's own: any TCP protocol; here, plain HTTP to the backend.
            RawHttp.Response inner = http.exchange(RawHttp.get("/tunnelled", "backend"));
            assertThat(inner.status()).isEqualTo(200);
            assertThat(inner.body()).contains("cluster=b").contains("path=/tunnelled").contains("xfcc=null");
        }
        assertThat(fed.asked).anySatisfy(a -> {
            assertThat(a.source().toString()).isEqualTo(Federation.CHECKOUT);
            assertThat(a.method()).isEmpty();
            assertThat(a.port()).isEqualTo(80);
        });
        try (RawHttp http = RawHttp.plain(egressA())) {
            RawHttp.Response denied = http.exchange(connect + "Proxy-Authorization: Bearer cart\r\n\r\n");
            assertThat(denied.status()).isEqualTo(403);
            assertThat(denied.reason()).isEqualTo("no-matching-allow");
            assertThat(http.closedWithoutResponse()).isTrue();
        }
        try (RawHttp http = RawHttp.plain(egressA())) {
            assertThat(http.exchange(connect + "\r\n").status()).isEqualTo(407);
        }
    }

    @Test
    void anExportWhoseIngressIsAnotherClustersGatewayGetsNothing() throws Exception {
        // b's entry now names c's gateway as b's ingress (a stale address, a forged entry, a hijacked name), and c's
        // own entry is gone: c's gateway verifies under the federation, but it is not b's, so nothing is sent to it.
        Federation.Cluster b = fed.cluster("b");
        Federation.Cluster c = fed.cluster("c");
        fed.exportAs("c", c.ingress.address().getPort(), c.locality, Federation.PAYMENTS,
                new ServicePort("http", 8080, Protocol.HTTP));
        fed.exportAs("b", c.ingress.address().getPort(), b.locality, Federation.PAYMENTS,
                new ServicePort("http", 80, Protocol.HTTP));
        assertThat(fed.exportsOf(Federation.PAYMENTS)).first().satisfies(e -> {
            assertThat(e.key().cluster()).isEqualTo("b");
            assertThat(e.ingress().port()).isEqualTo(c.ingress.address().getPort());
        });
        try (RawHttp http = RawHttp.plain(egressA())) {
            RawHttp.Response r = http.exchange(RawHttp.get("/", PAYMENTS, "Authorization: Bearer checkout"));
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.reason()).isEqualTo("no-cluster-reachable");
            assertThat(r.body()).contains("the gateway there is spiffe://c.acme.internal/")
                    .contains("cluster b's ingress must be served by a gateway of b.acme.internal");
            String connect = "CONNECT " + PAYMENTS + ":80 HTTP/1.1\r\nHost: " + PAYMENTS + ":80\r\n"
                    + "Proxy-Authorization: Bearer checkout\r\n\r\n";
            try (RawHttp tunnel = RawHttp.plain(egressA())) {
                RawHttp.Response refused = tunnel.exchange(connect);
                assertThat(refused.status()).isEqualTo(502);
                assertThat(refused.body()).contains("must be served by a gateway of b.acme.internal");
            }
        }
        assertThat(fed.asked).as("c's ingress was never asked").isEmpty();
        assertThat(fed.cluster("c").backendSawXfcc).isEmpty();
        assertThat(fed.cluster("a").counter("isthmus_upstream_connect_failures_total", "direction", "egress"))
                .isGreaterThanOrEqualTo(2);

        // Once b announces its own ingress again, the same call reaches b.
        fed.export(b, Federation.PAYMENTS, new ServicePort("http", 80, Protocol.HTTP));
        try (RawHttp http = RawHttp.plain(egressA())) {
            assertThat(http.exchange(RawHttp.get("/", PAYMENTS, "Authorization: Bearer checkout")).body())
                    .contains("cluster=b");
        }
    }
}
