package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.agent.gateway.GatewayClient.Issued;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.FederationConfig;
import io.isthmus.integration.federation.FederationPki;
import io.isthmus.integration.federation.GatewayClient;
import io.isthmus.integration.federation.GatewayProcess;
import io.isthmus.integration.federation.SampleService;
import io.isthmus.integration.support.LoadBalancedNetwork;
import io.isthmus.integration.support.MockKubernetes;
import io.isthmus.integration.support.NetworkNamespaces;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Pem;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.federation.RefreshHint;
import io.isthmus.trust.jwt.JwtKeyRing;
import io.isthmus.trust.jwt.JwtKeyStore;
import io.isthmus.trust.jwt.JwtRejection;
import io.isthmus.trust.jwt.JwtSigningKey;
import io.isthmus.trust.jwt.JwtSvidSigner;
import io.isthmus.trust.jwt.JwtSvidValidator;
import io.isthmus.trust.jwt.JwtVerdict;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.testing.FreePorts;

/**
 * Three clusters as the Terraform example deploys them: each runs two gateway replicas on a private network of its
 * own, and the other clusters reach it only through its load balancer (one public address that spreads new
 * connections over the replicas; {@link LoadBalancedNetwork}). Pod addresses do not route between clusters. Proves
 * that the cross-site bridge forms anyway (every replica relays the public bridge port to its site master, which
 * advertises the public address) and replicates in every direction, that bundles are fetched through the load
 * balancers, that a workload's call by mesh name crosses into each other cluster carrying its SPIFFE ID, and that
 * replication goes on when a cluster's site master stops and the other replica takes over behind the same address.
 */
class LoadBalancedFederationE2ETest {
    private static final Duration DEADLINE = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> NAMES = List.of("alpha", "beta", "gamma");
    /** Every replica listens on the same ports, as pods of one StatefulSet do; clusters too (separate networks). */
    private static final ClusterSpec.Ports PORTS = new ClusterSpec.Ports(15012, 8080, 8443, 15443, 15001, 7900, 7800, 0);
    private static final int MASTER_PORT = 7901;
    /**
     * Connect timeouts tolerated in the gateways' logs over the whole run: 0-4 in runs before the bundle endpoint's
     * lookups stalled, 61-332 while they did (a health line repeats a peer's last error, so one timeout may count more).
     */
    private static final long MAX_CONNECT_TIMEOUT_LINES = 4;
    private static final int ENROL_BURST = 4;
    private static final Duration JWT_TTL = Duration.ofSeconds(15);
    private static final String ADMIN_TOKEN = "load-balanced-e2e-bootstrap-admin-token-0123456789";
    /**
     * What the module's public LoadBalancer Service forwards: ingress, bundle endpoint, cross-site bridge; and the API,
     * as an operator's admin calls reach a cluster's gateway through its Service, whichever replica answers.
     */
    private static final List<Integer> PUBLIC_PORTS = List.of(PORTS.ingress(), PORTS.bundle(), PORTS.xsite(),
            PORTS.api());
    /** The service each cluster offers, and the cluster that calls it: every cluster is crossed into once. */
    private static final Map<String, String> SERVICE = Map.of("alpha", "payments", "beta", "ledger", "gamma", "orders");
    private static final Map<String, String> CALLER = Map.of("alpha", "gamma", "beta", "alpha", "gamma", "beta");

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    private static String meshName(String cluster) {
        return SERVICE.get(cluster) + ".shop.svc.clusterset.local";
    }

    @Test
    void clustersBehindLoadBalancersFederateReplicateAndCarryCallsByMeshName() throws Exception {
        NetworkNamespaces.assumeAvailable();
        boolean iptables = LoadBalancedNetwork.iptablesAvailable();
        if ("1".equals(System.getenv(NetworkNamespaces.REQUIRE_ENV))) {
            assertThat(iptables).as(NetworkNamespaces.REQUIRE_ENV + "=1: the load balancers need iptables").isTrue();
        }
        Assumptions.assumeTrue(iptables, "the load balancers need iptables");
        List<SampleService> backends = new ArrayList<>();
        List<GatewayProcess> gateways = new ArrayList<>();
        try (LoadBalancedNetwork net = LoadBalancedNetwork.create(NAMES, 2, PUBLIC_PORTS);
                MockKubernetes alphaApi = MockKubernetes.start(net.rootAddress())) {
            // A replica's DNS answers at once, as a pod's does: the JDK's HTTPS server (the bundle endpoint) looks up
            // every client's address before its handshake, and lookups that waited for a resolver timeout made the
            // peers' fetches through the load balancers time out.
            for (int i = 0; i < 3; i++) {
                assertThat(LoadBalancedNetwork.reverseLookupTime(net.cluster("beta").replicaNamespaces().get(0),
                        net.cluster("alpha").publicAddress())).as("reverse lookup %d inside a replica", i)
                        .isLessThan(Duration.ofSeconds(2));
            }
            Map<String, ClusterSpec> publicSpecs = new LinkedHashMap<>();
            for (String n : NAMES) {
                publicSpecs.put(n, new ClusterSpec(n, TrustDomain.parse(n + ".acme.internal"),
                        net.cluster(n).publicAddress(), PORTS, dir.resolve(n)));
            }
            FederationPki pki = FederationPki.create(dir.resolve("pki"), Clock.systemUTC());
            FederationConfig config = new FederationConfig(pki, List.copyOf(publicSpecs.values()), Duration.ofSeconds(1));
            // Backends live where every replica of their cluster reaches them (through its NAT), one per cluster.
            Map<String, String> backendOf = new LinkedHashMap<>();
            for (String n : NAMES) {
                int port = FreePorts.next();
                backends.add(SampleService.start(net.rootAddress(), port, n, SERVICE.get(n)));
                backendOf.put(n, net.rootAddress() + ":" + port);
            }
            Map<String, List<ClusterSpec>> replicas = new LinkedHashMap<>();
            for (String n : NAMES) {
                LoadBalancedNetwork.Cluster c = net.cluster(n);
                List<ClusterSpec> specs = new ArrayList<>();
                for (int k = 0; k < c.replicaAddresses().size(); k++) {
                    ClusterSpec replica = new ClusterSpec(n, publicSpecs.get(n).trustDomain(), c.replicaAddresses().get(k),
                            PORTS, dir.resolve(n).resolve("r" + k));
                    Map<String, String> p = new LinkedHashMap<>(config.propertiesOf(publicSpecs.get(n)));
                    configureReplica(p, replica, c, backendOf.get(n), n.equals("alpha") ? alphaApi : null);
                    gateways.add(new GatewayProcess(replica, Clusters.appJar(), p, Optional.of(c.replicaNamespaces().get(k))));
                    specs.add(replica);
                }
                replicas.put(n, specs);
            }
            long started = System.nanoTime();
            for (GatewayProcess g : gateways) {
                g.start();
            }
            for (GatewayProcess g : gateways) {
                g.awaitReady(Duration.ofSeconds(180));
            }
            // Bundles come through the load balancers (either replica answers): every peer fresh everywhere.
            for (GatewayProcess g : gateways) {
                g.awaitHealth("/q/health/group/peers", DEADLINE);
            }
            System.out.printf("LoadBalancedFederationE2ETest: 6 replicas ready, peers fresh after %d ms%n",
                    Duration.ofNanos(System.nanoTime() - started).toMillis());

            // Pod addresses do not route between clusters; public addresses do.
            LoadBalancedNetwork.Cluster alphaNet = net.cluster("alpha");
            LoadBalancedNetwork.Cluster betaNet = net.cluster("beta");
            assertThat(canConnect(alphaNet.replicaNamespaces().get(0), betaNet.replicaAddresses().get(0), MASTER_PORT))
                    .as("a beta pod address from inside alpha").isFalse();
            assertThat(canConnect(alphaNet.replicaNamespaces().get(0), betaNet.publicAddress(), PORTS.xsite()))
                    .as("beta's load balancer from inside alpha").isTrue();

            // Replication in every direction: each cluster's export reaches both replicas of the two others.
            long exported = System.nanoTime();
            alphaApi.export("shop", SERVICE.get("alpha"), 80, 1, "spiffe://alpha.acme.internal/ns/shop/sa/payments");
            GatewayClient api = new GatewayClient(pki.rootCertificate());
            Map<String, Long> seenAfter = new LinkedHashMap<>();
            for (String owner : NAMES) {
                for (String at : NAMES) {
                    for (ClusterSpec replica : replicas.get(at)) {
                        // A poll that times out on a loaded host is a miss, not a failure: the deadline decides.
                        try {
                            Awaitility.await(at + " " + replica.host() + " sees " + owner + "'s export").atMost(DEADLINE)
                                    .pollInterval(Duration.ofMillis(500)).ignoreExceptionsInstanceOf(IOException.class)
                                    .until(() -> RegistryE2ETest.export(api, replica, owner, "shop", SERVICE.get(owner))
                                            .isPresent());
                        } catch (ConditionTimeoutException e) {
                            throw new AssertionError(e.getMessage() + "; the replicas' bridges then: "
                                    + bridgeStates(replicas), e);
                        }
                        seenAfter.put(owner + "@" + at + "/" + replica.host(),
                                Duration.ofNanos(System.nanoTime() - exported).toMillis());
                    }
                }
            }
            System.out.printf("LoadBalancedFederationE2ETest: every export at every replica %d ms after alpha's export"
                    + " (each seen, in order, after ms: %s)%n", Duration.ofNanos(System.nanoTime() - exported).toMillis(),
                    seenAfter);
            // Each replica signs JWT-SVIDs with its own key (its own data dir); both replicas of a cluster publish both.
            Map<String, List<String>> jwtKids = new LinkedHashMap<>();
            for (String n : NAMES) {
                List<String> kids = new ArrayList<>();
                for (ClusterSpec replica : replicas.get(n)) {
                    kids.add(activeJwtKid(replica));
                }
                assertThat(kids).as("%s's replicas' signing keys", n).doesNotHaveDuplicates();
                jwtKids.put(n, kids);
                for (ClusterSpec replica : replicas.get(n)) {
                    Awaitility.await(replica.host() + " publishes the JWT keys of both " + n + " replicas")
                            .atMost(DEADLINE).pollInterval(Duration.ofMillis(500))
                            .until(() -> publishedJwtKids(api, replica), published -> published.containsAll(kids));
                }
            }
            // The bridges came in through the relays: peers dialled the public address, never a pod.
            for (String n : NAMES) {
                long relayed = 0;
                for (ClusterSpec replica : replicas.get(n)) {
                    relayed += gauge(replica, "isthmus_registry_bridge_relayed_connections");
                }
                assertThat(relayed).as("bridge connections relayed to %s's site master", n).isPositive();
            }

            // A call by mesh name crosses into every cluster, from either replica's egress, with the caller's identity.
            for (String callee : NAMES) {
                String caller = CALLER.get(callee);
                Workload workload = Workload.issue(pki, "spiffe://" + caller + ".acme.internal/ns/demo/sa/client");
                for (ClusterSpec egress : replicas.get(caller)) {
                    String at = egress.host() + ":" + PORTS.egress();
                    Workload.Response r = Awaitility.await(caller + " calls " + meshName(callee) + " via " + at)
                            .atMost(DEADLINE).pollInterval(Duration.ofMillis(500))
                            .until(() -> workload.get(at, meshName(callee), "/"), resp -> resp.status() == 200);
                    assertThat(r.body()).contains("\"cluster\":\"" + callee + "\"").contains(workload.id().toString());
                }
            }

            Issued vm = enrolmentRateLimitIsOnePerClusterAcrossItsReplicas(pki, replicas);
            jwtKids.put("alpha", jwtKeysOfBothAlphaReplicasRotateByOneCallPerStep(pki, publicSpecs.get("alpha"),
                    replicas, vm));
            refreshHintsCauseOnlyAThrottledPullOfTheRealBundle(pki, net, replicas);
            intermediateRotationThroughTheAdminApiIsRefusedWithTwoReplicas(pki, publicSpecs.get("alpha"),
                    replicas.get("alpha"));

            // Alpha's site master (the first member of its local cluster) stops, as in a rolling update. The other
            // replica takes over the bridge behind the same public address, and replication goes on both ways.
            GatewayProcess master = siteMaster(gateways.subList(0, 2));
            GatewayProcess survivor = gateways.get(gateways.indexOf(master) == 0 ? 1 : 0);
            // SIGTERM: for quarkus.shutdown.delay the replica reports not ready (its load balancer takes it out) while
            // its process still runs; then it stops.
            ProcessHandle.of(master.pid()).ifPresent(ProcessHandle::destroy);
            Awaitility.await("the stopping site master reports not ready while it drains").atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> FederationTrustE2ETest.status(master.cluster().managementUrl("/q/health/ready")) == 503);
            assertThat(master.isAlive()).as("still running during the drain delay").isTrue();
            master.stop();
            // The stopped replica's tokens live on (svid-ttl), so its key stays in the survivor's bundle.
            assertThat(publishedJwtKids(api, survivor.cluster())).as("alpha's bundle after a replica stopped")
                    .containsAll(jwtKids.get("alpha"));
            alphaApi.unexport("shop", SERVICE.get("alpha"));
            for (String at : List.of("beta", "gamma")) {
                for (ClusterSpec replica : replicas.get(at)) {
                    Awaitility.await(at + " " + replica.host() + " sees alpha's unexport after its site master stopped")
                            .atMost(DEADLINE).pollInterval(Duration.ofMillis(500))
                            .until(() -> api.get(replica.apiUrl("/v1/services?cluster=alpha")).statusCode() == 200
                                    && RegistryE2ETest.export(api, replica, "alpha", "shop", SERVICE.get("alpha")).isEmpty());
                }
            }
            Workload alphaClient = Workload.issue(pki, "spiffe://alpha.acme.internal/ns/demo/sa/client");
            String at = survivor.cluster().host() + ":" + PORTS.egress();
            Workload.Response r = Awaitility.await("alpha's remaining replica calls beta again").atMost(DEADLINE)
                    .pollInterval(Duration.ofMillis(500))
                    .until(() -> alphaClient.get(at, meshName("beta"), "/"), resp -> resp.status() == 200);
            assertThat(r.body()).contains("\"cluster\":\"beta\"").contains(alphaClient.id().toString());

            // Connections through the load balancers were answered: a timed-out connect (TCP or TLS handshake, which
            // the JDK client counts in its connect timeout) is a real call that failed at first.
            Map<String, Long> connectTimeouts = new LinkedHashMap<>();
            for (Map.Entry<String, List<ClusterSpec>> c : replicas.entrySet()) {
                for (int k = 0; k < c.getValue().size(); k++) {
                    try (var lines = Files.lines(c.getValue().get(k).logFile(), StandardCharsets.UTF_8)) {
                        connectTimeouts.put(c.getKey() + "/r" + k, lines.filter(l -> l.contains("connect timed out")).count());
                    }
                }
            }
            long total = connectTimeouts.values().stream().mapToLong(Long::longValue).sum();
            System.out.printf("LoadBalancedFederationE2ETest: 'connect timed out' log lines %d %s%n", total, connectTimeouts);
            assertThat(total).as("'connect timed out' lines in the gateways' logs %s", connectTimeouts)
                    .isLessThanOrEqualTo(MAX_CONNECT_TIMEOUT_LINES);
        } finally {
            GatewayProcess.stopAll(gateways);
            backends.forEach(SampleService::close);
        }
    }

    /**
     * Each replica's registry readiness data (its bridge's view of the sites, the last update from each, what its
     * bridge refused), for a failure message: which link a missing replication lacks.
     */
    private static String bridgeStates(Map<String, List<ClusterSpec>> replicas) {
        StringBuilder out = new StringBuilder();
        for (Map.Entry<String, List<ClusterSpec>> c : replicas.entrySet()) {
            for (int k = 0; k < c.getValue().size(); k++) {
                out.append(out.isEmpty() ? "" : "; ").append(c.getKey()).append("/r").append(k).append(' ')
                        .append(RegistryE2ETest.registryHealth(c.getValue().get(k)));
            }
        }
        return out.toString();
    }

    private static void configureReplica(Map<String, String> p, ClusterSpec replica, LoadBalancedNetwork.Cluster net,
            String backend, MockKubernetes api) {
        // Binds on the pod's own address; everything peers are told is the load balancer's.
        p.putAll(LoadBalancedNetwork.replicaProperties(replica, net));
        p.put("isthmus.registry.xsite-master-port", Integer.toString(MASTER_PORT));
        p.put("quarkus.shutdown.delay", "3s");
        String cluster = replica.name();
        String service = SERVICE.get(cluster);
        if (api != null) {
            p.putAll(api.gatewayProperties());
        } else {
            p.put("isthmus.registry.static-exports." + service + ".namespace", "shop");
            p.put("isthmus.registry.static-exports." + service + ".ports", "http:80");
        }
        p.put("isthmus.proxy.backends.\"" + meshName(cluster) + "\"", backend);
        p.put("isthmus.authz.policy-file", Clusters.allowDemoClients(replica.dir()).toString());
        // 4 enrolment attempts per source at once, then one a minute: per cluster, whichever replica is asked.
        p.put("isthmus.enrolment.rate-limit.burst", Integer.toString(ENROL_BURST));
        p.put("isthmus.enrolment.rate-limit.per-minute", "1");
        // Short-lived JWT-SVIDs, so that a rotation's old key may be retired within the test.
        p.put("isthmus.jwt.svid-ttl", JWT_TTL.toSeconds() + "s");
        try {
            Files.createDirectories(replica.dir());
            Files.writeString(replica.dir().resolve("admin.token"), ADMIN_TOKEN + "\n");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        p.put("isthmus.admin.bootstrap-token-file", replica.dir().resolve("admin.token").toString());
    }

    /**
     * An attacker guessing join tokens alternates between alpha's two replicas (as a load balancer would spread its
     * connections, or as it would itself to double its budget): after the burst, counted over both replicas, every
     * attempt is refused with 429 and Retry-After (a valid token too, and without burning it), and each refusal is
     * audited on the replica that refused it. Beta, another cluster, limits the same source on its own.
     */
    private static Issued enrolmentRateLimitIsOnePerClusterAcrossItsReplicas(FederationPki pki,
            Map<String, List<ClusterSpec>> replicas) throws Exception {
        HttpClient http = adminHttp(pki);
        List<ClusterSpec> alpha = replicas.get("alpha");
        String good = createToken(http, alpha.get(0));
        String spare = createToken(http, alpha.get(1));
        // Attempt 1, at r0: a real enrolment with a valid token.
        Issued vm = new io.isthmus.agent.gateway.GatewayClient(URI.create(alpha.get(0).apiUrl("")),
                new FederationRoots(Pem.readCertificates(pki.rootCertificate())), alpha.get(0).trustDomain(),
                Clock.systemUTC()).enrol(good);
        assertThat(vm.svid().id().toString()).isEqualTo("spiffe://alpha.acme.internal/ns/demo/sa/rate-vm");
        // Attempts 2..4 alternate r1, r0, r1 with guessed tokens: refused as unknown, each counted.
        for (int i = 1; i < ENROL_BURST; i++) {
            HttpResponse<String> r = enrol(http, alpha.get(i % 2), "ijt1.guess" + i + ".not-the-secret");
            assertThat(r.statusCode()).as("attempt %d at r%d: %s", i + 1, i % 2, r.body()).isEqualTo(401);
        }
        // The burst is spent over both replicas: each refuses, a valid token as well as a guess.
        String refusedSource = null;
        for (int i = 0; i < 4; i++) {
            ClusterSpec at = alpha.get(i % 2);
            HttpResponse<String> r = enrol(http, at, i == 3 ? spare : "ijt1.guess-late" + i + ".not-the-secret");
            assertThat(r.statusCode()).as("attempt %d at r%d: %s", ENROL_BURST + i + 1, i % 2, r.body()).isEqualTo(429);
            assertThat(r.body()).contains("\"code\":\"rate-limited\"").contains("across this cluster's gateway replicas");
            long retryAfter = Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow());
            assertThat(retryAfter).as("Retry-After (one attempt a minute)").isBetween(30L, 61L);
            Matcher m = Pattern.compile("attempts from ([^ ]+) across").matcher(r.body());
            assertThat(m.find()).as(r.body()).isTrue();
            refusedSource = m.group(1);
        }
        for (ClusterSpec at : alpha) {
            assertThat(Files.readString(at.logFile())).as("%s's enrolment audit", at.host())
                    .containsPattern("\"action\":\"enrol\",\"decision\":\"deny\",\"code\":\"rate-limited\","
                            + "\"source\":\"" + Pattern.quote(refusedSource) + "\"");
        }
        HttpResponse<String> tokens = http.send(HttpRequest.newBuilder(URI.create(alpha.get(0).apiUrl("/v1/admin/join-tokens")))
                .header("authorization", "Bearer " + ADMIN_TOKEN).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(tokens.body()).as("the valid token refused by the limit is still unused")
                .containsPattern("\"id\":\"" + Pattern.quote(spare.split("\\.")[1]) + "\"[^}]*\"uses\":0");
        // Beta counts the same source from a full burst of its own.
        List<ClusterSpec> beta = replicas.get("beta");
        for (int i = 0; i < ENROL_BURST; i++) {
            HttpResponse<String> r = enrol(http, beta.get(i % 2), "ijt1.beta-guess" + i + ".not-the-secret");
            assertThat(r.statusCode()).as("beta attempt %d: %s", i + 1, r.body()).isEqualTo(401);
        }
        HttpResponse<String> over = enrol(http, beta.get(0), "ijt1.beta-guess-late.not-the-secret");
        assertThat(over.statusCode()).as(over.body()).isEqualTo(429);
        assertThat(over.body()).contains("attempts from " + refusedSource + " across");
        return vm;
    }

    /**
     * JWT key rotation of alpha, one admin call per step through alpha's load balancer (whichever replica answers):
     * each step applies to both replicas, each on its own key, and the answer says so per replica. A token of each
     * replica signed before and after activation validates at beta; steps out of order get 409; once retired, either
     * replica's old key (even fresh tokens signed with it, as a thief of the key would) is refused at beta as an
     * unknown kid. Returns alpha's signing kids afterwards, one per replica.
     */
    private static List<String> jwtKeysOfBothAlphaReplicasRotateByOneCallPerStep(FederationPki pki,
            ClusterSpec alphaLb, Map<String, List<ClusterSpec>> replicas, Issued vm) throws Exception {
        long started = System.nanoTime();
        HttpClient http = adminHttp(pki);
        GatewayClient api = new GatewayClient(pki.rootCertificate());
        List<ClusterSpec> alpha = replicas.get("alpha");
        List<ClusterSpec> beta = replicas.get("beta");
        String audience = "ledger.beta";
        List<String> before = new ArrayList<>();
        List<JwtKeyRing> ringsBefore = new ArrayList<>();
        for (ClusterSpec r : alpha) {
            before.add(jwtToken(pki, r, vm, audience));
            ringsBefore.add(new JwtKeyStore(r.dataDir().resolve("jwt")).load().orElseThrow());
        }
        List<String> oldKids = ringsBefore.stream().map(ring -> ring.active().keyId()).toList();
        assertThat(oldKids).doesNotHaveDuplicates();
        for (int i = 0; i < alpha.size(); i++) {
            assertThat(kidOf(before.get(i))).as("alpha r%d signs with its own key", i).isEqualTo(oldKids.get(i));
            awaitAtBeta(api, beta, "alpha r" + i + "'s token", before.get(i), audience, null);
        }

        // Out of order: nothing prepared to activate; an active key cannot be retired.
        assertRefused(admin(http, alphaLb, "activate"), "no jwt key is prepared");
        assertRefused(admin(http, alphaLb, "retire/" + oldKids.get(1)), "active " + oldKids.get(1) + " cannot be retired");
        long preparedAt = System.nanoTime();
        HttpResponse<String> prepared = admin(http, alphaLb, "prepare");
        assertThat(prepared.statusCode()).as(prepared.body()).isEqualTo(200);
        List<String> newKids = new ArrayList<>();
        for (ClusterSpec r : alpha) {
            String next = new JwtKeyStore(r.dataDir().resolve("jwt")).load().orElseThrow().next()
                    .orElseThrow(() -> new AssertionError(r.host() + " prepared no key: " + prepared.body())).keyId();
            newKids.add(next);
        }
        assertThat(replicaStates(prepared)).as(prepared.body()).hasSize(2)
                .allSatisfy(n -> assertThat(n.path("applied").asBoolean()).isTrue())
                .extracting(n -> n.path("state").path("next").asText()).containsExactlyInAnyOrderElementsOf(newKids);
        assertRefused(admin(http, alphaLb, "prepare"), "already prepared");
        // Activation waits until every peer confirmed both new keys (hinted at once), never longer than a refresh.
        HttpResponse<String> activated = Awaitility.await("alpha activates " + newKids).atMost(DEADLINE)
                .pollInterval(Duration.ofMillis(200)).until(() -> admin(http, alphaLb, "activate"), r -> {
                    if (r.statusCode() == 409) {
                        assertThat(r.body()).contains("is not yet known to federated peer");
                    }
                    return r.statusCode() == 200;
                });
        System.out.printf("LoadBalancedFederationE2ETest: JWT keys of both replicas prepared to active in %d ms%n",
                Duration.ofNanos(System.nanoTime() - preparedAt).toMillis());
        assertThat(replicaStates(activated)).as(activated.body()).hasSize(2)
                .allSatisfy(n -> assertThat(n.path("applied").asBoolean()).isTrue())
                .extracting(n -> n.path("state").path("active").asText()).containsExactlyInAnyOrderElementsOf(newKids);
        for (int i = 0; i < alpha.size(); i++) {
            assertThat(activeJwtKid(alpha.get(i))).as("alpha r%d's own ring after one activate call", i)
                    .isEqualTo(newKids.get(i));
        }
        // The activation waited for the peers' confirmations: at once, a replica of each peer holds both new keys.
        for (String peer : List.of("beta", "gamma")) {
            List<List<String>> held = new ArrayList<>();
            for (ClusterSpec at : replicas.get(peer)) {
                held.add(jwtKidsHeld(api, at, alphaLb.trustDomain()));
            }
            assertThat(held).as("alpha's keys held by %s's replicas right after activation", peer)
                    .anySatisfy(kids -> assertThat(kids).containsAll(newKids));
        }
        for (int i = 0; i < alpha.size(); i++) {
            String after = jwtToken(pki, alpha.get(i), vm, audience);
            assertThat(kidOf(after)).isEqualTo(newKids.get(i));
            awaitAtBeta(api, beta, "alpha r" + i + "'s token signed after activation", after, audience, null);
            awaitAtBeta(api, beta, "alpha r" + i + "'s token signed before activation (its key is retiring)",
                    before.get(i), audience, null);
        }
        // Too early: the old keys' tokens may still live.
        assertRefused(admin(http, alphaLb, "retire"), "may still have signed live tokens");
        HttpResponse<String> retired = Awaitility.await("alpha retires " + oldKids + " once their tokens expired")
                .atMost(JWT_TTL.plus(DEADLINE)).pollInterval(Duration.ofMillis(500))
                .until(() -> admin(http, alphaLb, "retire"), r -> r.statusCode() == 200);
        assertThat(replicaStates(retired)).as(retired.body()).hasSize(2)
                .allSatisfy(n -> assertThat(n.path("state").path("retiring")).isEmpty());
        for (int i = 0; i < alpha.size(); i++) {
            String stolen = JwtSvidSigner.sign(ringsBefore.get(i).active(), vm.svid().id(), List.of(audience),
                    Instant.now(), Duration.ofMinutes(5)).token();
            awaitAtBeta(api, beta, "a fresh token signed with alpha r" + i + "'s retired key", stolen, audience,
                    JwtRejection.UNKNOWN_KEY_ID);
            awaitAtBeta(api, beta, "alpha r" + i + "'s token after the retirement", jwtToken(pki, alpha.get(i), vm,
                    audience), audience, null);
        }
        System.out.printf("LoadBalancedFederationE2ETest: JWT rotation of alpha through retirement took %d ms%n",
                Duration.ofNanos(System.nanoTime() - started).toMillis());
        return newKids;
    }

    /**
     * An intermediate rotation through the admin API would live in the answering replica's data directory only: with
     * two replicas, {@code prepare} is refused 409 {@code several-replicas} through the load balancer and at each
     * replica, and no replica wrote a new key; status and abort (cleanup) stay available.
     */
    private static void intermediateRotationThroughTheAdminApiIsRefusedWithTwoReplicas(FederationPki pki,
            ClusterSpec alphaLb, List<ClusterSpec> alpha) throws Exception {
        long started = System.nanoTime();
        HttpClient http = adminHttp(pki);
        List<ClusterSpec> targets = new ArrayList<>(List.of(alphaLb));
        targets.addAll(alpha);
        for (ClusterSpec at : targets) {
            HttpResponse<String> r = rotationCall(http, at, "POST", "/intermediate/prepare");
            assertThat(r.statusCode()).as("prepare at %s: %s", at.host(), r.body()).isEqualTo(409);
            assertThat(JSON.readTree(r.body()).path("code").asText()).as(r.body()).isEqualTo("several-replicas");
            assertThat(r.body()).contains("2 gateway replicas").contains("CA Secret/files").contains("one replica");
        }
        for (ClusterSpec r : alpha) {
            Path dir = r.dataDir().resolve("rotation").resolve("intermediate");
            assertThat(dir.resolve("next.key")).as("a new intermediate key at %s", r.host()).doesNotExist();
            assertThat(dir.resolve("next.csr")).as("a CSR at %s", r.host()).doesNotExist();
        }
        assertThat(rotationCall(http, alphaLb, "GET", "").statusCode()).as("rotation status").isEqualTo(200);
        HttpResponse<String> aborted = rotationCall(http, alphaLb, "POST", "/intermediate/abort");
        assertThat(aborted.statusCode()).as(aborted.body()).isEqualTo(200);
        assertThat(JSON.readTree(aborted.body()).path("phase").asText()).as(aborted.body()).isEqualTo("idle");
        System.out.printf("LoadBalancedFederationE2ETest: admin-API intermediate rotation refused with two replicas, "
                + "checked in %d ms%n", Duration.ofNanos(System.nanoTime() - started).toMillis());
    }

    private static HttpClient adminHttp(FederationPki pki) throws IOException {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .sslContext(Workload.trustingRoot(pki.rootCertificate())).connectTimeout(Duration.ofSeconds(3)).build();
    }

    private static HttpResponse<String> rotationCall(HttpClient http, ClusterSpec at, String method, String step)
            throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(at.apiUrl("/v1/admin/rotation" + step)))
                .header("authorization", "Bearer " + ADMIN_TOKEN).timeout(Duration.ofSeconds(30))
                .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The per-replica part of an admin answer: {@code [{replica, applied, state: {active, next, retiring}}]}. */
    private static List<JsonNode> replicaStates(HttpResponse<String> r) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        JSON.readTree(r.body()).path("replicas").forEach(out::add);
        return out;
    }

    /**
     * An attacker sends refresh hints to beta's bundle endpoint, through its load balancer, without a client
     * certificate: naming alpha with a key of its own in the body, naming beta itself, naming nothing sensible, and
     * twenty in a row. All it gets is a throttled pull of alpha's real bundle from alpha's own endpoint: its key is
     * never held for alpha, a token signed with it is refused, and most of the burst is answered 429.
     */
    private static void refreshHintsCauseOnlyAThrottledPullOfTheRealBundle(FederationPki pki, LoadBalancedNetwork net,
            Map<String, List<ClusterSpec>> replicas) throws Exception {
        HttpClient http = adminHttp(pki);
        GatewayClient api = new GatewayClient(pki.rootCertificate());
        TrustDomain alphaTd = replicas.get("alpha").get(0).trustDomain();
        JwtSigningKey evil = JwtSigningKey.generate();
        String evilJwk = new BundleCodec().toJson(new io.isthmus.trust.bundle.TrustBundle(alphaTd, List.of(),
                List.of(evil.authority()), 1, Optional.empty()));
        String hintUrl = "https://" + net.cluster("beta").publicAddress() + ":" + PORTS.bundle() + RefreshHint.PATH;
        int accepted = 0;
        int throttled = 0;
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(hintUrl + "?trust_domain="
                    + alphaTd.name())).timeout(Duration.ofSeconds(10)).header("content-type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(evilJwk)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isIn(202, 429);
            assertThat(r.body()).doesNotContain(evil.keyId());
            if (r.statusCode() == 202) {
                accepted++;
            } else {
                throttled++;
                assertThat(r.headers().firstValue("Retry-After")).isPresent();
            }
        }
        System.out.printf("LoadBalancedFederationE2ETest: 20 forged hints: %d pulls, %d throttled%n", accepted, throttled);
        // At most one pull per second per replica behind the load balancer; the burst takes well under 10 s.
        assertThat(throttled).as("forged hints throttled").isGreaterThanOrEqualTo(5);
        HttpResponse<String> self = http.send(HttpRequest.newBuilder(URI.create(hintUrl + "?trust_domain=beta.acme.internal"))
                .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.ofString(evilJwk)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(self.statusCode()).as(self.body()).isEqualTo(404);
        assertThat(self.body()).contains("\"error\":\"not-a-peer\"");
        HttpResponse<String> junk = http.send(HttpRequest.newBuilder(URI.create(hintUrl + "?trust_domain=ALPHA%2F..%2F"))
                .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(junk.statusCode()).as(junk.body()).isEqualTo(400);
        assertThat(junk.body()).contains("\"error\":\"malformed-trust-domain\"").contains("ALPHA/../");
        String forged = JwtSvidSigner.sign(evil, SpiffeId.parse("spiffe://alpha.acme.internal/ns/demo/sa/rate-vm"),
                List.of("ledger.beta"), Instant.now(), Duration.ofMinutes(5)).token();
        for (String n : List.of("beta", "gamma")) {
            for (ClusterSpec at : replicas.get(n)) {
                assertThat(jwtKidsHeld(api, at, alphaTd)).as("%s %s's alpha bundle", n, at.host())
                        .isNotEmpty().doesNotContain(evil.keyId());
                assertThat(JwtSvidValidator.validate(forged, "ledger.beta", BundleSet.of(List.of(heldBundle(api, at,
                        alphaTd))), Instant.now())).isInstanceOfSatisfying(JwtVerdict.Invalid.class,
                                v -> assertThat(v.reason()).isEqualTo(JwtRejection.UNKNOWN_KEY_ID));
            }
        }
        for (ClusterSpec at : replicas.get("alpha")) {
            assertThat(publishedJwtKids(api, at)).as("alpha's own bundle").doesNotContain(evil.keyId());
        }
    }

    private static String jwtToken(FederationPki pki, ClusterSpec at, Issued vm, String audience) throws Exception {
        return new io.isthmus.agent.gateway.GatewayClient(URI.create(at.apiUrl("")),
                new FederationRoots(Pem.readCertificates(pki.rootCertificate())), at.trustDomain(), Clock.systemUTC())
                .jwtSvid(vm.svid(), vm.bundles(), vm.svid().id(), List.of(audience)).token();
    }

    private static String kidOf(String token) throws Exception {
        return JSON.readTree(java.util.Base64.getUrlDecoder().decode(token.split("\\.")[0])).path("kid").asText();
    }

    private static HttpResponse<String> admin(HttpClient http, ClusterSpec at, String step) throws Exception {
        // Above isthmus.jwt.rotation-wait (10 s): a step waits that long for every replica before it answers.
        return http.send(HttpRequest.newBuilder(URI.create(at.apiUrl("/v1/admin/jwt/" + step)))
                .header("authorization", "Bearer " + ADMIN_TOKEN).timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void assertRefused(HttpResponse<String> r, String what) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(409);
        assertThat(r.body()).contains("\"code\":\"jwt-rotation-refused\"").contains(what);
    }

    /** Until each of {@code at} validates {@code token} with its bundle of the token's trust domain (or refuses it). */
    private static void awaitAtBeta(GatewayClient api, List<ClusterSpec> at, String what, String token, String audience,
            JwtRejection expected) {
        SpiffeId sub = SpiffeId.parse(JSON_SUB.apply(token));
        for (ClusterSpec replica : at) {
            Awaitility.await(replica.host() + " " + (expected == null ? "validates " : "refuses ") + what)
                    .atMost(DEADLINE).pollInterval(Duration.ofMillis(250)).ignoreExceptionsInstanceOf(IOException.class)
                    .until(() -> JwtSvidValidator.validate(token, audience, BundleSet.of(List.of(heldBundle(api, replica,
                            sub.trustDomain()))), Instant.now()), v -> expected == null ? v instanceof JwtVerdict.Valid
                                    : v instanceof JwtVerdict.Invalid i && i.reason() == expected);
        }
    }

    private static final java.util.function.Function<String, String> JSON_SUB = token -> {
        try {
            return JSON.readTree(java.util.Base64.getUrlDecoder().decode(token.split("\\.")[1])).path("sub").asText();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    };

    /** The bundle of {@code td} that {@code replica} holds and serves its agents and API callers. */
    private static io.isthmus.trust.bundle.TrustBundle heldBundle(GatewayClient api, ClusterSpec replica, TrustDomain td)
            throws Exception {
        HttpResponse<String> r = api.get(replica.apiUrl("/v1/bundles/" + td.name()));
        if (r.statusCode() != 200) {
            throw new IOException(replica.host() + " holds no bundle of " + td + ": " + r.statusCode());
        }
        return new BundleCodec().parse(td, r.body().getBytes(StandardCharsets.UTF_8), replica.host()).bundle();
    }

    private static List<String> jwtKidsHeld(GatewayClient api, ClusterSpec replica, TrustDomain td) throws Exception {
        return heldBundle(api, replica, td).jwtAuthorities().stream().map(JwtAuthority::keyId).toList();
    }

    private static String createToken(HttpClient http, ClusterSpec at) throws Exception {
        String body = "{\"namespace\":\"demo\",\"serviceAccount\":\"rate-vm\",\"ttl\":\"10m\"}";
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(at.apiUrl("/v1/admin/join-tokens")))
                .header("authorization", "Bearer " + ADMIN_TOKEN).header("content-type", "application/json")
                .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        Matcher m = Pattern.compile("\"token\":\"([^\"]+)\"").matcher(r.body());
        assertThat(m.find()).as(r.body()).isTrue();
        return m.group(1);
    }

    private static HttpResponse<String> enrol(HttpClient http, ClusterSpec at, String token) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(at.apiUrl("/v1/enrol"))).header("content-type", "application/json")
                .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.ofString("{\"token\":\"" + token
                        + "\",\"csr\":\"not a csr\"}")).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The kid this replica signs JWT-SVIDs with, from its own key ring file (the private key never leaves it). */
    private static String activeJwtKid(ClusterSpec replica) throws IOException {
        return new ObjectMapper().readTree(replica.dataDir().resolve("jwt")
                .resolve("jwt-keys.json").toFile()).path("active").path("kid").asText();
    }

    /** The jwt-svid kids of the replica's own trust domain bundle, as its API serves the bundle. */
    private static List<String> publishedJwtKids(GatewayClient api, ClusterSpec replica) throws Exception {
        String body = api.get(replica.apiUrl("/v1/bundles/" + replica.trustDomain().name())).body();
        return new BundleCodec().parse(replica.trustDomain(),
                body.getBytes(StandardCharsets.UTF_8), replica.host()).bundle().jwtAuthorities()
                .stream().map(JwtAuthority::keyId).toList();
    }

    /** Whether a TCP connection from inside {@code namespace} to {@code host:port} is accepted within 3 s. */
    private static boolean canConnect(String namespace, String host, int port) {
        try {
            LoadBalancedNetwork.inNs(namespace, "timeout", "3", "bash", "-c", "exec 3<>/dev/tcp/" + host + "/" + port);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static long gauge(ClusterSpec replica, String name) throws Exception {
        Matcher m = Pattern.compile("(?m)^" + name + "(\\{[^}]*\\})? ([0-9.Ee+-]+)$")
                .matcher(FederationTrustE2ETest.get(replica.managementUrl("/q/metrics")));
        return m.find() ? (long) Double.parseDouble(m.group(2)) : 0;
    }

    /** The replica that heads the latest local cluster view in its own log: RELAY2 makes it the site master. */
    private static GatewayProcess siteMaster(List<GatewayProcess> replicas) {
        Pattern view = Pattern.compile("new cluster view for channel isthmus-\\w+: \\[([^|\\]]+)\\|");
        for (GatewayProcess g : replicas) {
            Matcher m = view.matcher(g.logTail(5000));
            String coordinator = null;
            while (m.find()) {
                coordinator = m.group(1);
            }
            if (coordinator != null && coordinator.contains("-" + g.cluster().host() + "-")) {
                return g;
            }
        }
        throw new AssertionError("no replica heads its local cluster view: " + replicas);
    }
}
