package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.gateway.cli.IsthmusCli;
import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.Federation;
import io.isthmus.integration.federation.FederationPki;
import io.isthmus.integration.federation.GatewayClient;
import io.isthmus.integration.federation.GatewayProcess;
import io.isthmus.integration.support.NetworkNamespaces;
import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.x509.Pem;

/**
 * {@code isthmus check} against a real three-cluster federation (gateway processes; each in its own network namespace
 * where this machine allows it): healthy, every line passes; then one thing at a time is broken, and each time the
 * check it belongs to fails, naming the cause, until it is repaired:
 * a policy file with a syntax error; a peer bundle endpoint that proves to be beta but serves gamma's bundle; a
 * registry bridge cut by dropping its packets (namespaces only); a stopped peer; an intermediate two days from expiry;
 * a clock 20 s ahead (an injected {@code Clock}, {@code isthmus.dev.clock-offset}). Also one call walked from the
 * caller's side with {@code --from/--to}, allowed and denied by the destination's live policy.
 */
class IsthmusCheckE2ETest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CHECKOUT = "spiffe://alpha.acme.internal/ns/shop/sa/checkout";
    private static final String POLICY = """
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: payments-from-checkout, namespace: billing}
            spec:
              action: ALLOW
              rules:
              - from:
                - source: {principals: ["%s"]}
                to:
                - operation: {methods: ["GET", "POST"], paths: ["/charge*"]}
            """.formatted(CHECKOUT);

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    @Test
    void checkPassesOnAHealthyFederationAndNamesEachBrokenThing() throws Exception {
        // Only the partition needs namespaces: without them the rest runs on loopback, unless CI requires them.
        if ("1".equals(System.getenv(NetworkNamespaces.REQUIRE_ENV))) {
            NetworkNamespaces.assumeAvailable();
        }
        boolean netns = NetworkNamespaces.available();
        List<String> names = List.of("alpha", "beta", "gamma");
        try (NetworkNamespaces net = netns ? NetworkNamespaces.create(names) : null) {
            List<ClusterSpec> clusters = new ArrayList<>();
            for (String n : names) {
                clusters.add(new ClusterSpec(n, TrustDomain.parse(n + ".acme.internal"),
                        net == null ? "127.0.0.1" : net.address(n), new ClusterSpec.Ports(FreePorts.next(),
                        FreePorts.next(), FreePorts.next(), FreePorts.next(), FreePorts.next(), FreePorts.next(),
                        FreePorts.next(), FreePorts.next()), dir.resolve(n)));
            }
            ClusterSpec alpha = clusters.get(0);
            ClusterSpec beta = clusters.get(1);
            ClusterSpec gamma = clusters.get(2);
            Path adminToken = secret(dir.resolve("admin.token"), "isthmus-check-e2e-admin-" + Long.toHexString(System.nanoTime())
                    + Long.toHexString(System.identityHashCode(dir)));
            try (BundleRelay relay = new BundleRelay(net == null ? "127.0.0.1" : net.bridgeAddress());
                    Federation federation = Federation.prepare(dir, Clusters.appJar(), clusters, Duration.ofSeconds(2),
                            (c, p) -> configure(c, p, adminToken, relay),
                            net == null ? Map.of() : net.namespaces())) {
                FederationPki pki = federation.pki();
                GatewayClient api = new GatewayClient(pki.rootCertificate());
                // gamma's next intermediate, two days from expiry, is published ahead of its use (as a rotation does):
                // a gateway that signs with a CA its peers do not hold yet is locked out, by design.
                FederationPki.Intermediate shortLived = pki.reissue(gamma.trustDomain(), Duration.ofDays(2), "short");
                publishAhead(gamma, shortLived);
                relay.serve(TestCa.svid(pki.credential(beta.trustDomain()),
                        "spiffe://beta.acme.internal/ns/isthmus-system/sa/isthmus-gateway"), api, beta.bundleEndpointUrl());
                Instant started = Instant.now();
                federation.start(Duration.ofSeconds(120));
                System.out.printf("federation of 3 started in %d s (%s)%n", Duration.between(started, Instant.now())
                        .toSeconds(), net == null ? "loopback" : "network namespaces");

                // Healthy: every line of every gateway passes, and the text output says so.
                for (ClusterSpec c : clusters) {
                    awaitFailing(c, pki, Set.of(), "", Duration.ofSeconds(120));
                }
                Run text = check(alpha, pki, "-o", "text");
                System.out.println(text.out());
                assertThat(text.exit()).isZero();
                assertThat(text.out()).contains("✓ peer-ingress gamma", "✓ clock-skew beta").doesNotContain("✗")
                        .contains("checks passed");

                // One call from alpha's side: resolution, routing order, beta's ingress, beta's live policy.
                Run call = check(alpha, pki, "--from", "alpha", "--to", "payments.billing", "--caller", CHECKOUT,
                        "--method", "GET", "--path", "/charge/./now", "--to-api", beta.apiUrl(""),
                        "--to-trust-domain", beta.trustDomain().name(), "--admin-token-file", adminToken.toString(),
                        "-o", "text");
                System.out.println(call.out());
                assertThat(call.exit()).as(call.out()).isZero();
                assertThat(call.out()).contains("beta -> gamma").contains("ALLOW by billing/payments-from-checkout")
                        .contains("path normalized to /charge/now");
                Run denied = check(alpha, pki, "--from", "alpha", "--to", "payments.billing", "--caller",
                        "spiffe://alpha.acme.internal/ns/shop/sa/intruder", "--method", "GET", "--path", "/charge",
                        "--to-api", beta.apiUrl(""), "--to-trust-domain", beta.trustDomain().name(),
                        "--admin-token-file", adminToken.toString(), "-o", "json");
                assertThat(denied.exit()).isEqualTo(1);
                assertThat(failing(denied)).containsExactly("call-policy beta");
                assertThat(cause(denied, "call-policy")).contains("DENY 403 no-matching-allow");

                // 1. A policy file with a syntax error: the previous policies stay, the policy line names the error.
                Path policy = alpha.dir().resolve("policies.yaml");
                Files.writeString(policy, POLICY.replace("action: ALLOW", "action: ALLOW\n  rules: [oops"));
                JsonNode broken = awaitFailing(alpha, pki, Set.of("policy file"), "the latest load was refused",
                        Duration.ofSeconds(30));
                assertThat(cause(broken, "policy")).contains("policies.yaml").contains("1 policy in force");
                Files.writeString(policy, POLICY);
                awaitFailing(alpha, pki, Set.of(), "", Duration.ofSeconds(30));

                // 2. beta's bundle endpoint (as alpha reaches it) proves to be beta but serves gamma's bundle.
                relay.upstream(gamma.bundleEndpointUrl());
                JsonNode foreign = awaitFailing(alpha, pki, Set.of("peer-bundle beta"), "invalid-authority",
                        Duration.ofSeconds(30));
                assertThat(cause(foreign, "peer-bundle")).contains("gamma.acme.internal")
                        .contains("the last good one stays in force");
                relay.upstream(beta.bundleEndpointUrl());
                awaitFailing(alpha, pki, Set.of(), "", Duration.ofSeconds(30));

                // 3. A partitioned bridge: gamma's bridge packets dropped both ways (namespaces only).
                if (net != null) {
                    net.dropTcp("gamma", clusters.stream().map(c -> c.ports().xsite()).toList());
                    JsonNode cut = awaitFailingWithin(alpha, pki, "bridge gamma", "is not connected",
                            Set.of("bridge gamma", "stale-entries gamma"), Duration.ofSeconds(90));
                    System.out.println("partitioned bridge: " + cause(cut, "bridge"));
                    net.undropTcp("gamma");
                } else {
                    System.out.println("partitioned bridge: skipped, network namespaces are not available here");
                }

                // 4. A stopped peer: its ingress refuses connections (its bundle and bridge follow).
                GatewayProcess gammaGateway = federation.gateway("gamma");
                gammaGateway.kill();
                JsonNode stopped = awaitFailingWithin(alpha, pki, "peer-ingress gamma", "connection refused",
                        Set.of("peer-ingress gamma", "peer-bundle gamma", "bridge gamma", "stale-entries gamma",
                                "clock-skew gamma"), Duration.ofSeconds(30));
                System.out.println("stopped peer: " + cause(stopped, "peer-ingress"));

                // 5. gamma returns signing with its published intermediate two days from expiry: its own check names it,
                //    and nothing else fails (its peers hold that CA already).
                // The intermediate a gateway signs with is recorded at its first start, and a start with another
                // one in the files rotates to it (waiting for peers and VM agents) instead of signing with it at once;
                // this step stands for a cluster installed with that intermediate, so its record goes first.
                forgetSigner(gamma);
                GatewayProcess gammaShort = federation.reconfigure("gamma", Map.of(
                        "isthmus.ca.intermediate-key", shortLived.key().toString(),
                        "isthmus.ca.intermediate-chain", shortLived.chain().toString()));
                gammaShort.start();
                gammaShort.awaitReady(Duration.ofSeconds(90));
                JsonNode expiring = awaitFailing(gamma, pki, Set.of("ca-expiry intermediate"), "expires in 1 d 23 h",
                        Duration.ofSeconds(90));
                assertThat(cause(expiring, "ca-expiry")).contains("of gamma.acme.internal");

                // 6. gamma's clock 20 s ahead (its valid intermediate back): alpha's clock line names gamma and by how much.
                FederationPki.Intermediate original = pki.intermediate(gamma.trustDomain());
                federation.gateway("gamma").stop();
                forgetSigner(gamma);
                GatewayProcess gammaSkewed = federation.reconfigure("gamma", Map.of(
                        "isthmus.ca.intermediate-key", original.key().toString(),
                        "isthmus.ca.intermediate-chain", original.chain().toString(),
                        "isthmus.dev.clock-offset", "20s"));
                gammaSkewed.start();
                gammaSkewed.awaitReady(Duration.ofSeconds(90));
                JsonNode skewed = awaitFailing(alpha, pki, Set.of("clock-skew gamma"), "ahead of this gateway's",
                        Duration.ofSeconds(90));
                assertThat(cause(skewed, "clock-skew")).matches("gamma's clock is (19|20)\\.\\d\\d s ahead.*");
                System.out.println(check(alpha, pki, "-o", "text").out());
            }
        }
    }

    /** Removes the record of the intermediate {@code c}'s gateway signs with (the gateway is stopped). */
    private static void forgetSigner(ClusterSpec c) throws IOException {
        Path dir = c.dataDir().resolve("rotation");
        if (Files.exists(dir)) {
            try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
    }

    /** Seeds gamma's persisted bundle with {@code next}: it starts publishing it next to the intermediate it uses. */
    private static void publishAhead(ClusterSpec c, FederationPki.Intermediate next) throws IOException {
        TrustBundle seed = new TrustBundle(c.trustDomain(), Pem.readCertificates(next.chain()), List.of(), 1,
                Optional.of(Duration.ofSeconds(2)));
        Path file = c.dataDir().resolve("bundles").resolve(c.trustDomain().name() + ".json");
        Files.createDirectories(file.getParent());
        Files.writeString(file, new BundleCodec().toJson(seed));
    }

    private static void configure(ClusterSpec c, Map<String, String> p, Path adminToken, BundleRelay relay) {
        // Every cluster exports something, so every ingress is in the registry and probed; payments is beta's and gamma's.
        String service = c.name().equals("alpha") ? "orders" : "payments";
        p.put("isthmus.registry.static-exports." + service + ".namespace", c.name().equals("alpha") ? "shop" : "billing");
        p.put("isthmus.registry.static-exports." + service + ".ports", "http:80");
        p.put("isthmus.registry.static-exports." + service + ".ready-endpoints", "1");
        String region = c.name().equals("gamma") ? "us-east" : "eu-west";
        p.put("isthmus.registry.locality.region", region);
        p.put("isthmus.proxy.locality.region", region);
        p.put("isthmus.status.probe-timeout", "3s");
        // The cut bridge is found by failure detection: 6 s without a heartbeat instead of the production 20 s.
        p.put("isthmus.registry.failure-detection.timeout", "6s");
        p.put("isthmus.registry.failure-detection.interval", "2s");
        p.put("isthmus.admin.bootstrap-token-file", adminToken.toString());
        try {
            Files.createDirectories(c.dir());
            Files.writeString(c.dir().resolve("policies.yaml"), POLICY);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        p.put("isthmus.authz.policy-file", c.dir().resolve("policies.yaml").toString());
        p.put("isthmus.authz.policy-file-poll-interval", "500ms");
        if (c.name().equals("alpha")) {
            p.put("isthmus.peers.beta.bundle-endpoint-url", relay.url());
        }
    }

    /**
     * Runs {@code isthmus check -o json} against {@code c} until exactly {@code expected} lines fail (and, when given,
     * one of them names {@code cause}); returns that report. The exact set shows the breakage touched nothing else.
     */
    private static JsonNode awaitFailing(ClusterSpec c, FederationPki pki, Set<String> expected, String cause,
            Duration timeout) {
        Run[] last = new Run[1];
        try {
            Awaitility.await(c.name() + " failing exactly " + expected).atMost(timeout).pollInterval(Duration.ofMillis(500))
                    .until(() -> {
                        last[0] = settled(check(c, pki, "-o", "json"), last[0]);
                        return Set.copyOf(failing(last[0])).equals(expected)
                                && (cause.isEmpty() || lines(last[0]).anyMatch(l -> !l.path("ok").asBoolean()
                                        && l.path("cause").asText().contains(cause)))
                                && last[0].exit() == (expected.isEmpty() ? 0 : 1);
                    });
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("isthmus check against " + c.name() + " did not settle on failing " + expected
                    + (cause.isEmpty() ? "" : " naming '" + cause + "'") + "; last report:\n"
                    + (last[0] == null ? "none" : last[0].out()), e);
        }
        return last[0].json();
    }

    /** As {@link #awaitFailing}, for breakages with consequences: {@code line} fails naming {@code cause}, nothing outside {@code allowed}. */
    private static JsonNode awaitFailingWithin(ClusterSpec c, FederationPki pki, String line, String cause,
            Set<String> allowed, Duration timeout) {
        Run[] last = new Run[1];
        try {
            Awaitility.await(c.name() + " failing " + line).atMost(timeout).pollInterval(Duration.ofMillis(500))
                    .until(() -> {
                        last[0] = settled(check(c, pki, "-o", "json"), last[0]);
                        List<String> failed = failing(last[0]);
                        return failed.contains(line) && allowed.containsAll(failed) && lines(last[0]).anyMatch(l ->
                                (l.path("check").asText() + " " + l.path("subject").asText()).equals(line)
                                        && l.path("cause").asText().contains(cause));
                    });
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("isthmus check against " + c.name() + " never failed " + line + " naming '"
                    + cause + "' within " + allowed + "; last report:\n" + (last[0] == null ? "none" : last[0].out()), e);
        }
        return last[0].json();
    }

    /**
     * The report to keep: {@code latest}, unless the deadline interrupted its read (Awaitility interrupts the poll in
     * progress), which says nothing about the gateway; a failure message then shows the last report read in full.
     */
    private static Run settled(Run latest, Run previous) {
        boolean interrupted = latest.out().contains("interrupted reading");
        return interrupted && previous != null ? previous : latest;
    }

    record Run(int exit, String out) {
        JsonNode json() {
            try {
                return JSON.readTree(out);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + out, e);
            }
        }
    }

    /** The real CLI, in this JVM: {@code isthmus check --gateway <management URL> --root-ca <root>}. */
    static Run check(ClusterSpec c, FederationPki pki, String... extra) {
        List<String> args = new ArrayList<>(List.of("check", "--gateway", c.managementUrl(""), "--root-ca",
                pki.rootCertificate().toString()));
        args.addAll(List.of(extra));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        synchronized (IsthmusCheckE2ETest.class) {
            try {
                System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
                int exit = IsthmusCli.run(args.toArray(String[]::new));
                return new Run(exit, out.toString(StandardCharsets.UTF_8));
            } finally {
                System.setOut(old);
            }
        }
    }

    private static java.util.stream.Stream<JsonNode> lines(Run run) {
        List<JsonNode> l = new ArrayList<>();
        run.json().path("checks").forEach(l::add);
        return l.stream();
    }

    /** {@code check subject} of every failed line. */
    private static List<String> failing(Run run) {
        return lines(run).filter(l -> !l.path("ok").asBoolean())
                .map(l -> (l.path("check").asText() + " " + l.path("subject").asText()).strip())
                .collect(Collectors.toList());
    }

    private static String cause(JsonNode report, String check) {
        for (JsonNode l : report.path("checks")) {
            if (l.path("check").asText().equals(check) && !l.path("ok").asBoolean()) {
                return l.path("cause").asText();
            }
        }
        throw new AssertionError("no failed " + check + " line in " + report.toPrettyString());
    }

    private static String cause(Run run, String check) {
        return cause(run.json(), check);
    }

    private static Path secret(Path file, String content) throws IOException {
        Files.createDirectories(file.getParent());
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, content);
        return file;
    }
}
