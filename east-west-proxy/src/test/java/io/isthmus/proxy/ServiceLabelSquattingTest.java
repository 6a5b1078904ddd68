package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;

/**
 * {@code destination_service} is capped (500 distinct values, then {@code other}) so that callers cannot grow the
 * metrics without bound. The cap is first come, first served: a local workload at its egress, or a workload of a
 * federated trust domain straight at a peer's ingress, asks for 500 names that nobody exports (each one answered
 * 404 or 403), and every real service's series from then on reads {@code other}: its dashboards and alerts go blind
 * for the life of the gateway. Only names some cluster exports (egress) or this cluster serves (ingress) may take a
 * label; the others count as {@code unknown}.
 */
class ServiceLabelSquattingTest {
    private static final String PAYMENTS = "payments.billing.svc.clusterset.local";
    private static final int CAP = 500;
    private Federation fed;

    @BeforeEach
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults().withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(30),
                Duration.ofSeconds(1)));
    }

    @AfterEach
    void stop() {
        fed.close();
    }

    private static String junk(int i) {
        return "squat-" + i + ".junk.svc.clusterset.local";
    }

    @Test
    void namesNobodyExportsCannotTakeTheEgressLabelsOfRealServices() throws Exception {
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            for (int i = 0; i < CAP; i++) {
                assertThat(http.exchange(RawHttp.get("/", junk(i), "Authorization: Bearer checkout")).status())
                        .isEqualTo(404);
            }
            assertThat(http.exchange(RawHttp.get("/", PAYMENTS, "Authorization: Bearer checkout")).status())
                    .isEqualTo(200);
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(fed.cluster("a")
                .counter("isthmus_requests_total", "direction", "egress", "destination_service", PAYMENTS))
                .as("a's egress counts payments under its own name").isEqualTo(1));
        assertThat(fed.cluster("a").counter("isthmus_requests_total", "direction", "egress", "destination_service",
                junk(0))).as("no series for a name nobody exports").isZero();
    }

    @Test
    void namesThisClusterDoesNotServeCannotTakeTheIngressLabelsOfRealServices() throws Exception {
        X509Svid intruder = TestCa.svid(fed.cluster("a").ca, "spiffe://a.acme.internal/ns/shop/sa/intruder");
        try (RawHttp http = RawHttp.tls(fed.cluster("b").ingress.address(), fed.cluster("a").clientContext(intruder))) {
            for (int i = 0; i < CAP; i++) {
                assertThat(http.exchange(RawHttp.get("/", junk(i))).status()).isIn(403, 404);
            }
        }
        try (RawHttp http = RawHttp.plain(fed.cluster("a").egress.address())) {
            assertThat(http.exchange(RawHttp.get("/", PAYMENTS, "Authorization: Bearer checkout")).status())
                    .isEqualTo(200);
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(fed.cluster("b")
                .counter("isthmus_requests_total", "direction", "ingress", "destination_service", PAYMENTS))
                .as("b's ingress counts payments under its own name").isEqualTo(1));
        assertThat(fed.cluster("b").counter("isthmus_requests_total", "direction", "ingress", "destination_service",
                junk(0))).as("no series for a name b does not serve").isZero();
    }
}
