package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.federation.GatewayClient;
import io.isthmus.integration.federation.GatewayProcess;
import io.isthmus.integration.federation.SampleService;

/**
 * The failover of {@link EastWestE2ETest}, repeated: under continuous traffic from alpha, beta (the nearest exporter
 * of payments) is killed with SIGKILL and restarted three times. Each time calls move to gamma within a bound, at
 * most the call in flight at the kill fails, and traffic returns to beta once it is back; every answered call's
 * backend saw checkout, passed on by its own cluster's gateway; at the end every gateway's registry holds both
 * exports, none stale. Slow (about three minutes): {@code bin/test -Dslow}.
 */
@Tag("slow")
class FailoverSoakE2ETest {
    private static final int ROUNDS = 3;

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    private final Map<String, SampleService> backends = new HashMap<>();

    @AfterEach
    void stopBackends() {
        backends.values().forEach(SampleService::close);
    }

    @Test
    void repeatedKillsOfTheNearestGatewayUnderTrafficLoseAtMostTheCallInFlight() throws Exception {
        try (Federation federation = EastWestE2ETest.prepare(dir, backends)) {
            federation.start(Duration.ofSeconds(120));
            GatewayClient api = new GatewayClient(federation.pki().rootCertificate());
            ClusterSpec alpha = federation.config().cluster("alpha");
            String egress = alpha.host() + ":" + alpha.ports().egress();
            Workload checkout = Workload.issue(federation.pki(), EastWestE2ETest.CHECKOUT);
            Awaitility.await("first call reaches beta").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300))
                    .until(() -> checkout.get(egress, EastWestE2ETest.PAYMENTS, "/charge"),
                            r -> r.status() == 200 && r.body().contains("\"cluster\":\"beta\""));

            ConcurrentLinkedQueue<long[]> log = new ConcurrentLinkedQueue<>(); // {nanoTime, status, servedByGamma}
            Map<Long, String> refusals = new java.util.concurrent.ConcurrentHashMap<>(); // nanoTime -> what failed
            // Answered calls whose backend did not see checkout, passed on by the gateway of the cluster that served it.
            ConcurrentLinkedQueue<String> wrongIdentity = new ConcurrentLinkedQueue<>();
            AtomicBoolean running = new AtomicBoolean(true);
            Thread traffic = Thread.ofVirtual().start(() -> {
                while (running.get()) {
                    try {
                        Workload.Response r = checkout.get(egress, EastWestE2ETest.PAYMENTS, "/charge");
                        long now = System.nanoTime();
                        if (r.status() != 200) {
                            refusals.put(now, r.status() + " " + r.body());
                        }
                        Optional<Workload.Served> served = r.served();
                        served.filter(x -> !x.passedOn(EastWestE2ETest.CHECKOUT))
                                .ifPresent(x -> wrongIdentity.add(r.toString()));
                        boolean byGamma = served.filter(x -> x.cluster().equals("gamma")).isPresent();
                        log.add(new long[] {now, r.status(), byGamma ? 1 : 0});
                        Thread.sleep(50);
                    } catch (InterruptedException e) {
                        return;
                    } catch (Exception e) {
                        log.add(new long[] {System.nanoTime(), -1, 0});
                    }
                }
            });
            List<String> rounds = new ArrayList<>();
            try {
                GatewayProcess beta = federation.gateway("beta");
                for (int round = 1; round <= ROUNDS; round++) {
                    // Precondition of each round: alpha can route to both exporters.
                    Awaitility.await("round " + round + ": alpha routes to beta and gamma").atMost(Duration.ofSeconds(60))
                            .pollInterval(Duration.ofMillis(300)).ignoreExceptionsInstanceOf(IOException.class)
                            .until(() -> api.get(alpha.apiUrl("/v1/services/" + EastWestE2ETest.PAYMENTS)).body(),
                                    b -> b.contains("\"routingOrder\":[\"beta\",\"gamma\"]"));
                    Thread.sleep(500);
                    long killedAt = System.nanoTime();
                    beta.kill();
                    Awaitility.await("round " + round + ": calls fail over to gamma").atMost(Duration.ofSeconds(15))
                            .pollInterval(Duration.ofMillis(100))
                            .until(() -> log.stream().anyMatch(e -> e[0] > killedAt && e[1] == 200 && e[2] == 1));
                    long firstGamma = log.stream().filter(e -> e[0] > killedAt && e[1] == 200 && e[2] == 1)
                            .mapToLong(e -> e[0]).min().orElseThrow();
                    beta.start();
                    beta.awaitReady(Duration.ofSeconds(90));
                    long restartedAt = System.nanoTime();
                    Awaitility.await("round " + round + ": traffic returns to beta").atMost(Duration.ofSeconds(60))
                            .pollInterval(Duration.ofMillis(200))
                            .until(() -> log.stream().anyMatch(e -> e[0] > restartedAt && e[1] == 200 && e[2] == 0));
                    List<Long> failed = log.stream().filter(e -> e[0] > killedAt && e[1] != 200).map(e -> e[1]).toList();
                    rounds.add("round %d: gamma after %d ms, %d failed %s".formatted(round,
                            (firstGamma - killedAt) / 1_000_000, failed.size(), failed));
                    assertThat(Duration.ofNanos(firstGamma - killedAt)).isLessThan(Duration.ofSeconds(10));
                    List<String> why = log.stream().filter(e -> e[0] > killedAt && e[1] != 200)
                            .map(e -> "+" + (e[0] - killedAt) / 1_000_000 + " ms: " + refusals.get(e[0])).toList();
                    assertThat(failed).as("round %d: failed calls after the kill: %s", round, why).hasSizeLessThanOrEqualTo(1)
                            .allSatisfy(status -> assertThat(status).isEqualTo(502L));
                    log.clear();
                }
            } finally {
                running.set(false);
                traffic.join();
                refusals.entrySet().stream().sorted(Map.Entry.comparingByKey()).limit(40)
                        .forEach(e -> System.out.println("failover soak: refused " + e.getValue()));
            }
            rounds.forEach(r -> System.out.println("failover soak: " + r));
            assertThat(wrongIdentity).as("answered calls whose backend saw another caller or gateway").isEmpty();

            for (ClusterSpec c : federation.config().clusters()) {
                long since = System.nanoTime();
                Awaitility.await(c.name() + " holds both exports").atMost(Duration.ofSeconds(60))
                        .pollInterval(Duration.ofMillis(500)).ignoreExceptionsInstanceOf(IOException.class)
                        .until(() -> api.get(c.apiUrl("/v1/services/" + EastWestE2ETest.PAYMENTS)).body(),
                                b -> b.contains("\"cluster\":\"beta\"") && b.contains("\"cluster\":\"gamma\""));
                System.out.printf("failover soak: %s holds both exports after %d ms%n", c.name(),
                        (System.nanoTime() - since) / 1_000_000);
                Awaitility.await(c.name() + " has no stale export of payments").atMost(Duration.ofSeconds(60))
                        .pollInterval(Duration.ofMillis(500)).ignoreExceptionsInstanceOf(IOException.class)
                        .until(() -> api.get(c.apiUrl("/v1/services?stale=true")), r -> r.statusCode() == 200
                                && r.body().startsWith("[") && !r.body().contains("\"payments\""));
            }
        }
    }
}
