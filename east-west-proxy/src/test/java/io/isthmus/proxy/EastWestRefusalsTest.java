package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;

/**
 * Bad input at both listeners: each is refused with a precise reason, and a well-behaved request right after (or
 * during) it still succeeds.
 */
class EastWestRefusalsTest {
    private static final String PAYMENTS = "payments.billing.svc.clusterset.local";
    private static final String CHECKOUT_TOKEN = "Authorization: Bearer checkout";
    private Federation fed;

    @BeforeEach
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(30),
                Duration.ofMillis(800)).withMaxHeaderSize(8192));
    }

    @AfterEach
    void stop() {
        fed.close();
    }

    private void normalCallStillWorks() throws IOException {
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            RawHttp.Response r = http.exchange(RawHttp.get("/", PAYMENTS, CHECKOUT_TOKEN));
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).contains("URI=" + Federation.CHECKOUT);
        }
    }

    private double ingressHandshakeFailures(String reason) {
        return fed.cluster("b").counter("isthmus_tls_handshake_failures_total", "listener", "ingress", "reason", reason);
    }

    @Test
    void ingressRefusesPlaintext() throws Exception {
        try (RawHttp http = RawHttp.plain(fed.cluster("b").ingress.address())) {
            http.send(RawHttp.get("/", PAYMENTS, "x-isthmus-caller: " + Federation.CHECKOUT));
            assertThat(http.closedWithoutResponse()).isTrue();
        }
        await().atMost(Duration.ofSeconds(2)).until(() -> ingressHandshakeFailures("not-tls") == 1);
        normalCallStillWorks();
    }

    @Test
    void ingressRefusesOneWayTls() {
        Federation.Cluster a = fed.cluster("a");
        assertThatThrownBy(() -> {
            try (RawHttp http = RawHttp.tls(fed.cluster("b").ingress.address(), a.clientContext(null))) {
                http.exchange(RawHttp.get("/", PAYMENTS, "x-isthmus-caller: " + Federation.CHECKOUT));
            }
        }).isInstanceOf(IOException.class);
        await().atMost(Duration.ofSeconds(2)).until(() -> ingressHandshakeFailures("no-client-certificate") == 1);
    }

    @Test
    void ingressRefusesOneWayTlsPerOpensslSClient() throws Exception {
        int port = fed.cluster("b").ingress.address().getPort();
        Process p = new ProcessBuilder("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-quiet",
                "-no_ign_eof").redirectErrorStream(true).start();
        try {
            p.getOutputStream().write(RawHttp.get("/", PAYMENTS, "x-isthmus-caller: " + Federation.CHECKOUT)
                    .getBytes(StandardCharsets.ISO_8859_1));
            p.getOutputStream().flush();
        } catch (IOException closed) {
            // openssl already took the ingress's alert and exited before the request was written (a loaded machine
            // delays this thread): what it printed is checked below all the same.
        }
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(out).doesNotContain("HTTP/1.1").containsIgnoringCase("alert");
        await().atMost(Duration.ofSeconds(2)).until(() -> ingressHandshakeFailures("no-client-certificate") == 1);
    }

    @Test
    void ingressRefusesACertificateFromAnotherRoot() {
        TestCa rogue = TestCa.create();
        X509Svid impostor = TestCa.svid(rogue.intermediate("a.acme.internal"),
                "spiffe://a.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
        assertThatThrownBy(() -> {
            try (RawHttp http = RawHttp.tls(fed.cluster("b").ingress.address(),
                    fed.cluster("a").clientContext(impostor))) {
                http.exchange(RawHttp.get("/", PAYMENTS, "x-isthmus-caller: " + Federation.CHECKOUT));
            }
        }).isInstanceOf(IOException.class);
        await().atMost(Duration.ofSeconds(2)).until(() -> ingressHandshakeFailures("unknown-root") == 1);
    }

    @Test
    void revokedIntermediateIsRefusedEverywhere() throws Exception {
        // a's gateway SVID was signed by a's intermediate; removing it from a's bundle revokes the gateway.
        fed.revoke(fed.cluster("a"));
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            RawHttp.Response r = http.exchange(RawHttp.get("/", PAYMENTS, CHECKOUT_TOKEN));
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.reason()).isEqualTo("no-cluster-reachable");
        }
        await().atMost(Duration.ofSeconds(2)).until(() -> ingressHandshakeFailures("signer-not-in-bundle") >= 1);
        assertThat(fed.cluster("b").backendSawXfcc).isEmpty();
        assertThat(fed.cluster("c").backendSawXfcc).isEmpty();
    }

    @Test
    void egressRefusesOversizedHeaders() throws Exception {
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            RawHttp.Response r = http.exchange(RawHttp.get("/", PAYMENTS, CHECKOUT_TOKEN, "x-big: " + "x".repeat(10_000)));
            assertThat(r.status()).isEqualTo(431);
            assertThat(r.reason()).isEqualTo("header-too-large");
            assertThat(http.closedWithoutResponse()).isTrue();
        }
        normalCallStillWorks();
    }

    @Test
    void slowHeadersAreCutOffWhileOthersAreServed() throws Exception {
        Federation.Cluster a = fed.cluster("a");
        try (RawHttp slow = RawHttp.plain(a.egress.address())) {
            // About 90 bytes, one per 100 ms: 9 s to send it all, against an 800 ms header deadline. The proof is
            // that the 408 arrives while most of the request is still unsent (not a wall-clock bound).
            String request = RawHttp.get("/", PAYMENTS, CHECKOUT_TOKEN);
            RawHttp.Response r = null;
            int sent = 0;
            for (; sent < request.length() - 2 && r == null; sent++) {
                try {
                    slow.send(request.substring(sent, sent + 1));
                } catch (IOException closed) {
                    break;
                }
                Thread.sleep(100); // the attacker's pace, not a wait for the gateway
                if (sent % 10 == 0) {
                    normalCallStillWorks();
                }
                if (slow.socket.getInputStream().available() > 0) {
                    r = slow.read();
                }
            }
            if (r == null) {
                r = slow.read();
            }
            assertThat(r.status()).isEqualTo(408);
            assertThat(r.reason()).isEqualTo("header-timeout");
            assertThat(sent).as("bytes sent of %d when the gateway cut off", request.length())
                    .isLessThan(request.length() / 2);
            assertThat(slow.closedWithoutResponse()).isTrue();
        }
    }

    @Test
    void unknownServiceAndNonMeshHostsAre404WithReason() throws Exception {
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            RawHttp.Response unknown = http.exchange(RawHttp.get("/", "nosuch.billing.svc.clusterset.local",
                    CHECKOUT_TOKEN));
            assertThat(unknown.status()).isEqualTo(404);
            assertThat(unknown.reason()).isEqualTo("unknown-service");
            RawHttp.Response foreign = http.exchange(RawHttp.get("/", "example.com", CHECKOUT_TOKEN));
            assertThat(foreign.status()).isEqualTo(404);
            assertThat(foreign.reason()).isEqualTo("not-a-mesh-name");
            assertThat(http.exchange(RawHttp.get("/", PAYMENTS, CHECKOUT_TOKEN)).status()).isEqualTo(200);
        }
        // The ingress too: b serves no backend for a name it does not export.
        Federation.Cluster a = fed.cluster("a");
        try (RawHttp http = RawHttp.tls(fed.cluster("b").ingress.address(), a.clientContext(a.gateway))) {
            RawHttp.Response r = http.exchange(RawHttp.get("/", "orders.shop.svc.clusterset.local",
                    "x-isthmus-caller: " + Federation.CHECKOUT));
            assertThat(r.status()).isEqualTo(404);
            assertThat(r.reason()).isEqualTo("unknown-service");
        }
    }

    @Test
    void unauthenticatedCallersAreRefused() throws Exception {
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            RawHttp.Response none = http.exchange(RawHttp.get("/", PAYMENTS));
            assertThat(none.status()).isEqualTo(401);
            assertThat(none.reason()).isEqualTo("no-credential");
            assertThat(none.header("www-authenticate")).isEqualTo("Bearer");
            RawHttp.Response proxyStyle = http.exchange(RawHttp.get("http://" + PAYMENTS + "/", PAYMENTS));
            assertThat(proxyStyle.status()).isEqualTo(407);
            RawHttp.Response bad = http.exchange(RawHttp.get("/", PAYMENTS, "Authorization: Bearer forged"));
            assertThat(bad.status()).isEqualTo(401);
            assertThat(bad.reason()).isEqualTo("token-rejected");
        }
        assertThat(fed.asked).isEmpty();
    }

    @Test
    void egressRefusesACallerSvidOfAnotherTrustDomain() {
        CaCredential caB = fed.cluster("b").ca;
        X509Svid foreign = TestCa.svid(caB, "spiffe://b.acme.internal/ns/shop/sa/checkout");
        assertThatThrownBy(() -> {
            try (RawHttp http = RawHttp.tls(fed.cluster("a").egress.address(), fed.cluster("a").clientContext(foreign))) {
                http.exchange(RawHttp.get("/", PAYMENTS));
            }
        }).isInstanceOf(IOException.class);
        await().atMost(Duration.ofSeconds(2)).until(() -> fed.cluster("a").counter(
                "isthmus_tls_handshake_failures_total", "listener", "egress", "reason", "unexpected-id") == 1);
    }

    @Test
    void revocationClosesConnectionsMadeBeforeIt() throws Exception {
        // A pooled a->b connection exists and works...
        normalCallStillWorks();
        assertThat(fed.cluster("b").backendSawXfcc).hasSize(1);
        // ...then a's intermediate is withdrawn from a's bundle and the gateways are told (bundle change event).
        fed.revoke(fed.cluster("a"));
        fed.clusters.values().forEach(c -> {
            c.ingress.revalidate();
            c.egress.revalidate();
        });
        await().atMost(Duration.ofSeconds(2)).until(() -> fed.cluster("b").counter("isthmus_connections_revoked_total",
                "listener", "ingress", "reason", "signer-not-in-bundle") == 1);
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            RawHttp.Response r = http.exchange(RawHttp.get("/", PAYMENTS, CHECKOUT_TOKEN));
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.reason()).isEqualTo("no-cluster-reachable");
        }
        assertThat(fed.cluster("b").backendSawXfcc).hasSize(1);
    }

    /**
     * A retirement drains an HTTP/1.1 connection instead of cutting it: the peer's SVID had expired before its signer
     * left the bundle, so the exchange in flight completes, its response says {@code Connection: close} (it is the
     * connection's last), and the connection then closes. A revoked peer would have lost the exchange.
     */
    @Test
    void retirementLetsTheExchangeInFlightFinishAsTheHttp1ConnectionsLast() throws Exception {
        Federation.Cluster a = fed.cluster("a");
        Federation.Cluster b = fed.cluster("b");
        X509Svid expiring = new io.isthmus.trust.ca.SvidIssuer(java.time.Clock.systemUTC())
                .issue(a.ca, a.gateway.id(), Duration.ofSeconds(1));
        try (RawHttp http = RawHttp.tls(b.ingress.address(), a.clientContext(expiring)).readTimeout(
                Duration.ofSeconds(30))) {
            RawHttp.Response before = http.exchange(RawHttp.get("/before", PAYMENTS,
                    "x-isthmus-caller: " + Federation.CHECKOUT));
            assertThat(before.status()).isEqualTo(200);
            assertThat(before.header("connection")).isEqualToIgnoringCase("keep-alive");
            await().atMost(Duration.ofSeconds(5)).until(() -> java.time.Instant.now().isAfter(expiring.notAfter()));
            http.send(RawHttp.get("/slow", PAYMENTS, "x-isthmus-caller: " + Federation.CHECKOUT));
            await("the slow request reached b's backend").atMost(Duration.ofSeconds(5))
                    .until(() -> b.slowCallsStarted.get() == 1);
            fed.revoke(a);
            b.ingress.revalidate();
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> b.counter("isthmus_connections_drained_total", "listener", "ingress") == 1);
            RawHttp.Response slow = http.read();
            assertThat(slow.status()).as("the exchange in flight completes").isEqualTo(200);
            assertThat(slow.header("connection")).as("and is the connection's last").isEqualToIgnoringCase("close");
            assertThat(http.closedWithoutResponse()).isTrue();
        }
        assertThat(b.counter("isthmus_connections_revoked_total")).isZero();
    }

    @Test
    void aRememberedPeerIsVerifiedAgainOnceItsBundleChanges() throws Exception {
        // The first call verifies a's gateway at b and c and remembers the verdict; new connections would reuse it.
        normalCallStillWorks();
        // A JDK client that already has a session with b (it would resume it if b let it).
        Federation.Cluster a0 = fed.cluster("a");
        javax.net.ssl.SSLContext resuming = a0.clientContext(a0.gateway);
        try (RawHttp http = RawHttp.tls(fed.cluster("b").ingress.address(), resuming)) {
            assertThat(http.exchange(RawHttp.get("/", PAYMENTS, "x-isthmus-caller: " + Federation.CHECKOUT)).status())
                    .isEqualTo(200);
        }
        fed.revoke(fed.cluster("a"));
        // Fresh connections (no pooled ones: revalidation closes them) must be refused despite the remembered verdict.
        fed.clusters.values().forEach(c -> c.egress.revalidate());
        Federation.Cluster a = fed.cluster("a");
        assertThatThrownBy(() -> {
            try (RawHttp http = RawHttp.tls(fed.cluster("b").ingress.address(), a.clientContext(a.gateway))) {
                http.exchange(RawHttp.get("/", PAYMENTS, "x-isthmus-caller: " + Federation.CHECKOUT));
            }
        }).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> {
            try (RawHttp http = RawHttp.tls(fed.cluster("b").ingress.address(), resuming)) {
                http.exchange(RawHttp.get("/", PAYMENTS, "x-isthmus-caller: " + Federation.CHECKOUT));
            }
        }).isInstanceOf(IOException.class);
        await().atMost(Duration.ofSeconds(2)).until(() -> ingressHandshakeFailures("signer-not-in-bundle") >= 2);
    }

    @Test
    void aSilentBackendIs504() throws Exception {
        fed.close();
        fed = Federation.start(new ProxySettings("svc.clusterset.local", Duration.ofSeconds(1), Duration.ofSeconds(5),
                Duration.ofSeconds(1), Duration.ofMillis(700), 8192, 1 << 20));
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            // /slow answers after 8 s; a gateway that waited for it would give 200 (or the client's 10 s read
            // timeout), so a 504 is the proof that the 700 ms timeout cut it off, without a wall-clock bound.
            RawHttp.Response r = http.exchange(RawHttp.get("/slow", PAYMENTS, CHECKOUT_TOKEN));
            assertThat(r.status()).isEqualTo(504);
            assertThat(r.reason()).isIn("backend-timeout", "upstream-timeout");
        }
        normalCallStillWorks();
    }
}
