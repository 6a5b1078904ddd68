package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import com.nimbusds.jwt.SignedJWT;

import io.isthmus.agent.gateway.GatewayClient;
import io.isthmus.agent.gateway.GatewayClient.Issued;
import io.isthmus.agent.gateway.GatewayException;
import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.FederationConfig;
import io.isthmus.integration.federation.FederationPki;
import io.isthmus.integration.federation.GatewayProcess;
import io.isthmus.integration.support.LoadBalancedNetwork;
import io.isthmus.integration.support.NetworkNamespaces;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Pem;

/**
 * The attack: an administrator revokes a compromised VM while the cluster's two gateway replicas cannot see each
 * other (a partition, or one replica hung without leaving). The replica that did not see the revocation cannot know
 * of it until the two meet again, so it would renew the VM's SVID, again and again, for as long as the partition
 * lasts. Real processes: two gateway replicas of one cluster, each in its own network namespace (as two pods), the
 * link between them cut with iptables and healed. Shows that the cut-off replica renews only within
 * {@code isthmus.enrolment.cut-off-grace} of losing the other replica, that what it signs meanwhile (the VM's SVID,
 * a workload SVID through the VM's agent) expires by the end of that grace, that afterwards it refuses every call
 * that authenticates as a VM (503 {@code replica-cut-off}, audited), and that after the heal the revocation made on
 * the other side is in force there (403 {@code identity-revoked}).
 */
@Tag("slow")
class ReplicaCutOffE2ETest {
    /** Both replicas listen on the same ports, as pods of one StatefulSet do. */
    private static final ClusterSpec.Ports PORTS = new ClusterSpec.Ports(15012, 8080, 8443, 15443, 15001, 7900, 7800, 0);
    private static final String ADMIN_TOKEN = "replica-cut-off-e2e-bootstrap-admin-token-0123456789";
    private static final Duration SVID_TTL = Duration.ofMinutes(10);
    private static final Duration GRACE = Duration.ofSeconds(30);
    private static final String VM = "spiffe://alpha.acme.internal/ns/demo/sa/cut-off-vm";
    private static final String CUT_OFF = "join tokens are unavailable on this replica";
    /** What a replica logs about its cluster: views, rejected views, suspicions, availability, warnings, errors. */
    private static final Pattern CLUSTER_LINES = Pattern.compile("ISPN000094|ISPN000093|ISPN000711|ISPN000136|JGRP|"
            + "[Ss]uspect|cut off|unavailable| WARN | ERROR ");

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    @Test
    void aReplicaCutOffFromTheOtherRenewsARevokedVmOnlyWithinItsGraceAndTheRevocationHoldsAfterTheHeal()
            throws Exception {
        NetworkNamespaces.assumeAvailable();
        boolean iptables = LoadBalancedNetwork.iptablesAvailable();
        if ("1".equals(System.getenv(NetworkNamespaces.REQUIRE_ENV))) {
            assertThat(iptables).as(NetworkNamespaces.REQUIRE_ENV + "=1: the cut needs iptables").isTrue();
        }
        Assumptions.assumeTrue(iptables, "the cut needs iptables");
        List<GatewayProcess> gateways = new ArrayList<>();
        try (LoadBalancedNetwork net = LoadBalancedNetwork.create(List.of("alpha"), 2, List.of(PORTS.api()))) {
            LoadBalancedNetwork.Cluster alpha = net.cluster("alpha");
            ClusterSpec publicSpec = new ClusterSpec("alpha", TrustDomain.parse("alpha.acme.internal"),
                    alpha.publicAddress(), PORTS, dir.resolve("alpha"));
            FederationPki pki = FederationPki.create(dir.resolve("pki"), Clock.systemUTC());
            FederationConfig config = new FederationConfig(pki, List.of(publicSpec), Duration.ofSeconds(1));
            List<ClusterSpec> replicas = new ArrayList<>();
            for (int k = 0; k < 2; k++) {
                ClusterSpec replica = new ClusterSpec("alpha", publicSpec.trustDomain(), alpha.replicaAddresses().get(k),
                        PORTS, dir.resolve("alpha").resolve("r" + k));
                Map<String, String> p = new LinkedHashMap<>(config.propertiesOf(publicSpec));
                configureReplica(p, replica, alpha);
                gateways.add(new GatewayProcess(replica, Clusters.appJar(), p,
                        Optional.of(alpha.replicaNamespaces().get(k))));
                replicas.add(replica);
            }
            // Both at once, as a StatefulSet with parallel pod management starts them. That once left the replica that
            // created the cluster blind to the other's loss (its first view reached its failure detector after the
            // next one; 2 runs of 5 before OrderedViewGms, RacingViewsTest).
            for (GatewayProcess g : gateways) {
                g.start();
            }
            for (GatewayProcess g : gateways) {
                g.awaitReady(Duration.ofSeconds(180));
            }
            ClusterSpec r0 = replicas.get(0);
            ClusterSpec r1 = replicas.get(1);
            HttpClient admin = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .sslContext(Workload.trustingRoot(pki.rootCertificate())).connectTimeout(Duration.ofSeconds(10))
                    .build();
            FederationRoots roots = new FederationRoots(Pem.readCertificates(pki.rootCertificate()));
            GatewayClient atR0 = new GatewayClient(URI.create(r0.apiUrl("")), roots, r0.trustDomain(), Clock.systemUTC());
            GatewayClient atR1 = new GatewayClient(URI.create(r1.apiUrl("")), roots, r1.trustDomain(), Clock.systemUTC());

            // The VM enrols at r0; r1 knows it (the replicas share their enrolment state).
            Issued vm = atR0.enrol(createToken(admin, r0));
            assertThat(vm.svid().id().toString()).isEqualTo(VM);
            Awaitility.await("r1 knows the enrolled VM").atMost(Duration.ofSeconds(30))
                    .ignoreExceptionsInstanceOf(java.io.IOException.class)
                    .until(() -> adminCall(admin, r1, "GET", "/v1/admin/identities", null).body().contains(VM));
            Issued before = atR1.renew(vm.svid(), vm.bundles());
            assertThat(Duration.between(Instant.now(), before.svid().notAfter()))
                    .as("a renewal while both replicas see each other: the whole lifetime")
                    .isGreaterThan(SVID_TTL.minusMinutes(1));

            // The link between the replicas is cut; each now sees only itself.
            String r1Ns = alpha.replicaNamespaces().get(1);
            String r0Address = r0.host();
            LoadBalancedNetwork.inNs(r1Ns, "iptables", "-I", "INPUT", "-s", r0Address, "-j", "DROP");
            LoadBalancedNetwork.inNs(r1Ns, "iptables", "-I", "OUTPUT", "-d", r0Address, "-j", "DROP");
            Instant cut = Instant.now();
            awaitCutOff("r1", r1, replicas);
            Instant r1CutOffSeen = Instant.now();
            awaitCutOff("r0", r0, replicas);

            // The administrator revokes the VM at r0. r0 records it, and says that r1 has not seen it.
            HttpResponse<String> revoked = adminCall(admin, r0, "POST", "/v1/admin/identities/revoke",
                    "{\"spiffeId\":\"" + VM + "\",\"reason\":\"key stolen\"}");
            assertThat(revoked.statusCode()).as(revoked.body()).isEqualTo(200);
            assertThat(revoked.body()).contains("\"state\":\"revoked\"")
                    .contains("sees only the replicas").contains("cut-off-grace");
            GatewayException atRevokingSide = catchThrowableOfType(GatewayException.class,
                    () -> atR0.renew(vm.svid(), vm.bundles()));
            assertThat(atRevokingSide.code()).isEqualTo("identity-revoked");

            // The attacker holding the VM's key renews at r1, which cannot know of the revocation: within the grace it
            // still signs, but nothing it signs outlives the grace.
            Instant graceEnds = r1CutOffSeen.plus(GRACE);
            Issued renewed = atR1.renew(vm.svid(), vm.bundles());
            assertThat(renewed.svid().notAfter()).as("the SVID a cut-off replica renews expires by the end of its grace"
                    + " (cut at %s, r1 said so by %s, grace %s)", cut, r1CutOffSeen, GRACE)
                    .isBeforeOrEqualTo(graceEnds.plusSeconds(1)).isAfter(cut.plus(GRACE).minusSeconds(2));
            Issued workload = atR1.issueWorkload(renewed.svid(), renewed.bundles(),
                    SpiffeId.parse(VM + "/worker"));
            assertThat(workload.svid().notAfter()).as("a workload SVID signed through the VM's agent, likewise")
                    .isBeforeOrEqualTo(graceEnds.plusSeconds(1));
            // A JWT-SVID is a bearer token: one signed in the grace with the usual 5 minutes would let the revoked VM
            // (or a workload under it) call for minutes after r1 stopped signing anything else.
            for (SpiffeId subject : List.of(renewed.svid().id(), SpiffeId.parse(VM + "/worker"))) {
                GatewayClient.JwtSvidReply jwt = atR1.jwtSvid(renewed.svid(), renewed.bundles(), subject,
                        List.of("ledger"));
                Instant exp = SignedJWT.parse(jwt.token()).getJWTClaimsSet().getExpirationTime().toInstant();
                assertThat(exp).as("the exp of a JWT-SVID for %s signed by the cut-off replica (it answered %s)",
                        subject, jwt.expiresAt()).isBeforeOrEqualTo(graceEnds.plusSeconds(1))
                        .isEqualTo(jwt.expiresAt());
            }

            // Once the grace is over, r1 refuses every call that authenticates as a VM.
            Thread.sleep(Math.max(0, Duration.between(Instant.now(), graceEnds.plusSeconds(2)).toMillis()));
            GatewayException refused = catchThrowableOfType(GatewayException.class,
                    () -> atR1.renew(renewed.svid(), renewed.bundles()));
            assertThat(refused.status()).as(refused.getMessage()).isEqualTo(503);
            assertThat(refused.code()).isEqualTo("replica-cut-off");
            assertThat(refused.getMessage()).contains("isthmus.enrolment.cut-off-grace");
            GatewayException jwtRefused = catchThrowableOfType(GatewayException.class,
                    () -> atR1.jwtSvid(renewed.svid(), renewed.bundles(), renewed.svid().id(), List.of("ledger")));
            assertThat(jwtRefused.code()).isEqualTo("replica-cut-off");
            assertThat(Files.readString(r1.logFile())).as("r1's enrolment audit")
                    .contains("\"action\":\"renew\",\"decision\":\"deny\",\"code\":\"replica-cut-off\"");

            // The link heals: r1 learns of the revocation and refuses the VM for good.
            LoadBalancedNetwork.inNs(r1Ns, "iptables", "-D", "INPUT", "-s", r0Address, "-j", "DROP");
            LoadBalancedNetwork.inNs(r1Ns, "iptables", "-D", "OUTPUT", "-d", r0Address, "-j", "DROP");
            AtomicReference<String> lastAnswer = new AtomicReference<>();
            try {
                Awaitility.await("r1 sees the revocation after the heal").atMost(Duration.ofSeconds(90))
                        .pollInterval(Duration.ofSeconds(1)).until(() -> {
                            try {
                                atR1.renew(renewed.svid(), renewed.bundles());
                                lastAnswer.set(Instant.now() + ": renewed");
                                return false;
                            } catch (GatewayException e) {
                                lastAnswer.set(Instant.now() + ": " + e.code() + " " + e.getMessage());
                                return e.code().equals("identity-revoked");
                            }
                        });
            } catch (ConditionTimeoutException e) {
                throw new AssertionError(e.getMessage() + " (r1's last answer: " + lastAnswer.get() + ")\n"
                        + clusterLines(replicas), e);
            }
            // A partition is an expected fault: warnings that name the other replica, no ERROR and no stack trace
            // (Infinispan's ISPN000136 for each write the other did not answer is one WARN per cache and minute).
            for (ClusterSpec replica : replicas) {
                assertThat(Files.readAllLines(replica.logFile())).as("%s's log", replica.host())
                        .noneMatch(l -> l.contains(" ERROR ") || l.matches("\\s+at .*"));
            }
        } finally {
            GatewayProcess.stopAll(gateways);
        }
    }

    private static void configureReplica(Map<String, String> p, ClusterSpec replica, LoadBalancedNetwork.Cluster net)
            throws java.io.IOException {
        p.putAll(LoadBalancedNetwork.replicaProperties(replica, net));
        // A replica that stops hearing the other suspects it within seconds (production: 20 s).
        p.put("isthmus.registry.failure-detection.timeout", "3s");
        p.put("isthmus.registry.failure-detection.interval", "1s");
        p.put("isthmus.enrolment.svid-ttl", SVID_TTL.toMinutes() + "m");
        p.put("isthmus.enrolment.cut-off-grace", GRACE.toSeconds() + "s");
        Files.createDirectories(replica.dir());
        Files.writeString(replica.dir().resolve("admin.token"), ADMIN_TOKEN + "\n");
        p.put("isthmus.admin.bootstrap-token-file", replica.dir().resolve("admin.token").toString());
    }

    /**
     * Waits for {@code replica} to say it is cut off; if it never does, fails with what both replicas logged about
     * their cluster, so that a failure in CI can be told apart (a view never installed, a member never suspected).
     */
    private static void awaitCutOff(String name, ClusterSpec replica, List<ClusterSpec> all) throws Exception {
        try {
            Awaitility.await(name + " says it is cut off").atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> Files.readString(replica.logFile()).contains(CUT_OFF));
        } catch (ConditionTimeoutException e) {
            throw new AssertionError(e.getMessage() + clusterLines(all), e);
        }
    }

    /** The last 40 lines each replica logged about its cluster, and its last 5 lines whatever they are. */
    private static String clusterLines(List<ClusterSpec> all) throws java.io.IOException {
        StringBuilder logs = new StringBuilder();
        for (int k = 0; k < all.size(); k++) {
            logs.append("\n--- r").append(k).append(" (").append(all.get(k).host()).append("), cluster lines:\n");
            List<String> everything = Files.readAllLines(all.get(k).logFile());
            List<String> lines = everything.stream().filter(l -> CLUSTER_LINES.matcher(l).find()).toList();
            lines.subList(Math.max(0, lines.size() - 40), lines.size()).forEach(l -> logs.append(l).append('\n'));
            logs.append("--- last lines:\n");
            everything.subList(Math.max(0, everything.size() - 5), everything.size())
                    .forEach(l -> logs.append(l).append('\n'));
        }
        return logs.toString();
    }

    private static String createToken(HttpClient http, ClusterSpec at) throws Exception {
        HttpResponse<String> r = adminCall(http, at, "POST", "/v1/admin/join-tokens",
                "{\"namespace\":\"demo\",\"serviceAccount\":\"cut-off-vm\",\"ttl\":\"10m\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        Matcher m = Pattern.compile("\"token\":\"([^\"]+)\"").matcher(r.body());
        assertThat(m.find()).as(r.body()).isTrue();
        return m.group(1);
    }

    private static HttpResponse<String> adminCall(HttpClient http, ClusterSpec at, String method, String path,
            String json) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(at.apiUrl(path)))
                .header("authorization", "Bearer " + ADMIN_TOKEN).timeout(Duration.ofSeconds(10));
        if (json == null) {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            b.header("content-type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(json));
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
