package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.federation.GatewayClient;
import io.isthmus.integration.federation.GatewayProcess;
import io.isthmus.integration.federation.SampleService;

/**
 * Three clusters as three gateway processes on loopback. payments.billing is exported by beta (same region as
 * alpha) and gamma (another region); a workload in alpha calls it by mesh name through alpha's egress. Proves,
 * over real processes: the registry replicates the exports to alpha; the call lands in beta, whose backend sees
 * the caller's verified SPIFFE ID passed on by beta's gateway; beta's policy denies a caller it does not allow
 * (403 + reason) and beta's ingress refuses an identity of another trust domain that alpha's gateway tries to vouch
 * for (403, its own reason); after kill -9 of beta under traffic, calls fail over to gamma within a bound, gamma's
 * backend seeing the same caller passed on by gamma's gateway, and when beta returns its export and its traffic
 * come back.
 */
class EastWestE2ETest {
    static final String PAYMENTS = "payments.billing.svc.clusterset.local";
    static final String CHECKOUT = "spiffe://alpha.acme.internal/ns/shop/sa/checkout";
    static final String INTRUDER = "spiffe://alpha.acme.internal/ns/shop/sa/intruder";

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    private final Map<String, SampleService> backends = new HashMap<>();

    @AfterEach
    void stopBackends() {
        backends.values().forEach(SampleService::close);
    }

    @Test
    void callByMeshNameIsAuthorizedByIdentityAndFailsOverWhenTheNearestGatewayDies() throws Exception {
        try (Federation federation = EastWestE2ETest.prepare(dir, backends)) {
            federation.start(Duration.ofSeconds(120));
            GatewayClient api = new GatewayClient(federation.pki().rootCertificate());
            ClusterSpec alpha = federation.config().cluster("alpha");
            String egress = alpha.host() + ":" + alpha.ports().egress();

            // The registry carried beta's and gamma's exports to alpha, nearest (beta) first.
            Awaitility.await("alpha's registry holds both exports").atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(500)).ignoreExceptionsInstanceOf(IOException.class)
                    .until(() -> api.get(alpha.apiUrl("/v1/services/" + PAYMENTS)).body(),
                            b -> b.contains("\"cluster\":\"beta\"") && b.contains("\"cluster\":\"gamma\""));

            Workload checkout = Workload.issue(federation.pki(), CHECKOUT);
            Workload intruder = Workload.issue(federation.pki(), INTRUDER);
            Workload.Response ok = Awaitility.await("first call").atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(300))
                    .until(() -> checkout.get(egress, PAYMENTS, "/charge?amount=5"), r -> r.status() == 200);
            assertThat(ok.served()).as("%s", ok).contains(Workload.Served.by("beta", CHECKOUT));
            assertThat(ok.body()).contains("\"path\":\"/charge\"");

            Workload.Response denied = intruder.get(egress, PAYMENTS, "/charge");
            assertThat(denied.status()).as("%s", denied).isEqualTo(403);
            assertThat(denied.header("x-isthmus-reason")).contains("no-matching-allow");

            // alpha's own gateway certificate, asserting an identity of gamma's trust domain straight to beta.
            Workload alphaGateway = Workload.issue(federation.pki(),
                    "spiffe://alpha.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
            ClusterSpec beta = federation.config().cluster("beta");
            Workload.Response forged = alphaGateway.call(beta.ingressAddress(), "GET /charge HTTP/1.1\r\nHost: "
                    + PAYMENTS + "\r\nx-isthmus-caller: spiffe://gamma.acme.internal/ns/shop/sa/checkout\r\n"
                    + "Connection: close\r\n\r\n");
            // Refused for the vouching itself, before beta's policy is asked (which would also say 403, for the
            // caller it does not allow): a gateway may vouch only for identities of its own trust domain.
            assertThat(forged.status()).as("%s", forged).isEqualTo(403);
            assertThat(forged.header("x-isthmus-reason")).as("%s", forged).contains("caller-outside-peer-trust-domain");
            assertThat(backends.get("beta").lastClientCert()).hasValueSatisfying(x -> assertThat(x).contains(CHECKOUT));

            // kill -9 beta under traffic: calls move to gamma within a bound.
            ConcurrentLinkedQueue<long[]> log = new ConcurrentLinkedQueue<>(); // {nanoTime, status, servedByGamma}
            // Answered calls whose backend did not see checkout, passed on by the gateway of the cluster that served it.
            ConcurrentLinkedQueue<String> wrongIdentity = new ConcurrentLinkedQueue<>();
            AtomicBoolean running = new AtomicBoolean(true);
            Thread traffic = Thread.ofVirtual().start(() -> {
                while (running.get()) {
                    Workload.Response r = checkout.get(egress, PAYMENTS, "/charge");
                    Optional<Workload.Served> served = r.served();
                    served.filter(x -> !x.passedOn(CHECKOUT)).ifPresent(x -> wrongIdentity.add(r.toString()));
                    log.add(new long[] {System.nanoTime(), r.status(),
                            served.filter(x -> x.cluster().equals("gamma")).isPresent() ? 1 : 0});
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            try {
                Thread.sleep(500);
                GatewayProcess betaGateway = federation.gateway("beta");
                long killedAt = System.nanoTime();
                betaGateway.kill();
                Awaitility.await("calls fail over to gamma").atMost(Duration.ofSeconds(15))
                        .pollInterval(Duration.ofMillis(100))
                        .until(() -> log.stream().anyMatch(e -> e[0] > killedAt && e[1] == 200 && e[2] == 1));
                long firstGamma = log.stream().filter(e -> e[0] > killedAt && e[1] == 200 && e[2] == 1)
                        .mapToLong(e -> e[0]).min().orElseThrow();
                List<Long> failed = log.stream().filter(e -> e[0] > killedAt && e[1] != 200).map(e -> e[1]).toList();
                System.out.printf("failover: first success from gamma %d ms after kill -9 of beta; %d failed calls %s%n",
                        (firstGamma - killedAt) / 1_000_000, failed.size(), failed);
                assertThat(Duration.ofNanos(firstGamma - killedAt)).isLessThan(Duration.ofSeconds(10));
                // Only a call whose request had already reached beta when it died may fail (502: bytes were sent,
                // so it is not retried); every later call fails over before sending anything.
                assertThat(failed).as("statuses of calls that failed after the kill").hasSizeLessThanOrEqualTo(1)
                        .allSatisfy(status -> assertThat(status).isEqualTo(502L));

                // beta returns: its export is re-announced and alpha routes to the nearer cluster again.
                betaGateway.start();
                betaGateway.awaitReady(Duration.ofSeconds(90));
                Workload.Response back = Awaitility.await("traffic returns to beta").atMost(Duration.ofSeconds(60))
                        .pollInterval(Duration.ofMillis(500))
                        .until(() -> checkout.get(egress, PAYMENTS, "/charge"),
                                r -> r.body().contains("\"cluster\":\"beta\""));
                assertThat(back.served()).as("%s", back).contains(Workload.Served.by("beta", CHECKOUT));
            } finally {
                running.set(false);
                traffic.join();
            }
            assertThat(wrongIdentity).as("answered calls whose backend saw another caller or gateway").isEmpty();
        }
    }

    /**
     * alpha, beta and gamma on loopback, not started yet: beta and gamma export payments, each served by a sample
     * backend put into {@code backends}; the gateways are configured by {@link #configure}.
     */
    static Federation prepare(Path dir, Map<String, SampleService> backends) throws Exception {
        List<ClusterSpec> clusters = Clusters.onLoopback(dir, "alpha", "beta", "gamma");
        for (ClusterSpec c : clusters.subList(1, 3)) {
            backends.put(c.name(), SampleService.start(c.host(), c.ports().sample(), c.name(), "payments"));
        }
        return Federation.prepare(dir, Clusters.appJar(), clusters, Duration.ofSeconds(2), EastWestE2ETest::configure,
                Map.of());
    }

    /** Each cluster's gateway settings: beta and gamma export payments (beta near alpha), policy: checkout only. */
    static void configure(ClusterSpec c, Map<String, String> p) {
        String region = c.name().equals("gamma") ? "us-east" : "eu-west";
        p.put("isthmus.registry.locality.region", region);
        p.put("isthmus.proxy.locality.region", region);
        if (c.name().equals("alpha")) {
            return;
        }
        p.put("isthmus.registry.static-exports.payments.namespace", "billing");
        p.put("isthmus.registry.static-exports.payments.ports", "http:80");
        p.put("isthmus.registry.static-exports.payments.identities",
                "spiffe://" + c.trustDomain().name() + "/ns/billing/sa/payments");
        p.put("isthmus.proxy.backends.\"" + PAYMENTS + "\"", c.host() + ":" + c.ports().sample());
        Path policy = c.dir().resolve("policies.yaml");
        try {
            Files.createDirectories(c.dir());
            Files.writeString(policy, """
                    apiVersion: security.isthmus.io/v1alpha1
                    kind: AuthorizationPolicy
                    metadata: {name: payments-from-checkout, namespace: billing}
                    spec:
                      action: ALLOW
                      selector: {services: [payments]}
                      rules:
                      - from:
                        - source: {principals: ["%s"]}
                        to:
                        - operation: {methods: ["GET", "POST"], paths: ["/charge*"]}
                    """.formatted(CHECKOUT));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        p.put("isthmus.authz.policy-file", policy.toString());
    }
}
