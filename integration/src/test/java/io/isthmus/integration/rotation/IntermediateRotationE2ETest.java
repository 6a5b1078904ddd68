package io.isthmus.integration.rotation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.GatewayProcess;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.CaFactory;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Crypto;
import io.isthmus.trust.x509.Pem;

/**
 * Two clusters, real gateway processes. Workloads of both (their SVIDs from their gateways, renewed) call each
 * other's services by mesh name without a pause while east's intermediate is rotated with {@code isthmus rotate
 * intermediate} through every phase, retirement included: no call fails and no gateway restarts. Then, on the same
 * federation: the bad-input table (each refused by the admin API with its named reason, east's trust state on disk
 * unchanged), and the crash test: east is killed with {@code kill -9} between publish and activate (while west is
 * down, so activation is refused naming it); restarted, it is in the same phase and the rotation completes (activated,
 * its retirement scheduled).
 */
class IntermediateRotationE2ETest {
    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    @Test
    void rotatesAnIntermediateUnderTrafficThenRefusesBadInputAndSurvivesACrash() throws Exception {
        Assumptions.assumeTrue(Files.exists(RotationRig.appJar()), "needs the packaged gateway (bin/test or ./mvnw verify)");
        try (RotationRig rig = RotationRig.start(dir, (c, p) -> { }, "east", "west")) {
            GatewayProcess east = rig.federation().gateway("east");
            GatewayProcess west = rig.federation().gateway("west");
            Map<String, Long> pids = Map.of("east", east.pid(), "west", west.pid());
            TestWorkload westClient = rig.workload("west", "client");
            TestWorkload eastClient = rig.workload("east", "client");
            String originalSerial = rig.rotation("east").path("cluster").path("active").path("serial").asText();

            // 1. Once each cluster's registry knows the other's export: traffic both ways, then the rotation of
            // east's intermediate through every phase.
            awaitReachable(westClient, rig.egress("west"), "east");
            awaitReachable(eastClient, rig.egress("east"), "west");
            try (Traffic toEast = Traffic.start("west->east", () -> call(westClient, rig.egress("west"), "east"), 100);
                    Traffic toWest = Traffic.start("east->west", () -> call(eastClient, rig.egress("east"), "west"), 100)) {
                await().atMost(Duration.ofSeconds(30)).until(() -> toEast.calls() > 5 && toWest.calls() > 5
                        && toEast.failures().isEmpty() && toWest.failures().isEmpty());
                long started = System.nanoTime();
                String out = rig.cli(concat(List.of("rotate", "intermediate"), rig.adminOptions("east"), List.of(
                        "--root-cert", rig.rootFile().toString(), "--root-key", rig.federation().pki().rootKey().toString(),
                        "--until", "retire", "--poll", "500ms", "--wait-timeout", "2m")));
                System.out.printf("rotation of east's intermediate under traffic, %d ms in all:%n%s",
                        (System.nanoTime() - started) / 1_000_000, out);
                assertThat(out).contains("prepare", "sign", "publish", "wait", "activate", "retire",
                        "rotation phase retired");
                // Keep calling a little past the retirement: connections made under the old CA are drained, not cut.
                long after = toEast.calls() + 10;
                await().atMost(Duration.ofSeconds(30)).until(() -> toEast.calls() > after && toWest.calls() > after);
                for (Traffic t : List.of(toEast, toWest)) {
                    // On failure: when, and what both gateways logged about trust and the registry meanwhile.
                    assertThat(t.summary()).as(() -> t.summary() + "\n" + rig.trustAndRegistryLog()).isEmpty();
                }
                System.out.printf("calls during the rotation: west->east %d, east->west %d, none failed%n",
                        toEast.calls(), toWest.calls());
            }
            JsonNode eastNow = rig.rotation("east");
            String newSerial = eastNow.path("cluster").path("active").path("serial").asText();
            assertThat(newSerial).isNotEqualTo(originalSerial);
            assertThat(eastNow.path("status").path("bundles").path("east.acme.internal").path("x509Authorities")
                    .toString()).contains(newSerial).doesNotContain(originalSerial);
            JsonNode westView = rig.rotation("west").path("status").path("bundles").path("east.acme.internal");
            assertThat(westView.path("x509Authorities").toString()).as("west holds east's new CA only")
                    .contains(newSerial).doesNotContain(originalSerial);
            assertThat(Certificates.serialHex(westClient.svid().chain().get(1))).as("west's workload is unaffected")
                    .isNotEqualTo(newSerial);
            assertThat(Certificates.serialHex(eastClient.svid().chain().get(1)))
                    .as("east's workload renewed early onto the new CA").isEqualTo(newSerial);
            assertThat(Map.of("east", east.pid(), "west", west.pid())).as("no gateway restarted").isEqualTo(pids);
            assertThat(east.isAlive() && west.isAlive()).isTrue();

            // 2. Bad input: each refused with its reason; nothing in east's trust state on disk changes.
            ClusterSpec eastSpec = rig.cluster("east");
            HttpResponse<String> prepared = rig.post("east", "/v1/admin/rotation/intermediate/prepare", "");
            assertThat(prepared.statusCode()).as(prepared.body()).isEqualTo(200);
            String csr = RotationRig.JSON.readTree(prepared.body()).path("csr").asText();
            PublicKey preparedKey = SvidIssuer.verifiedKey(csr.getBytes(StandardCharsets.US_ASCII));
            CaCredential root = rig.federation().pki().root();
            CaFactory factory = new CaFactory(Clock.systemUTC());
            TrustDomain eastTd = eastSpec.trustDomain();
            Map<String, X509Certificate> bad = new LinkedHashMap<>();
            bad.put("wrong-trust-domain", factory.issueIntermediateCertificate(root, TrustDomain.parse("west.acme.internal"),
                    preparedKey, Duration.ofDays(30)));
            bad.put("not-under-a-root", factory.issueIntermediateCertificate(factory.createRoot("stranger",
                    Duration.ofDays(30)), eastTd, preparedKey, Duration.ofDays(30)));
            bad.put("expired", TestCa.leaf().ca(true).permittedUriSubtree(eastTd.name()).subject("O=Isthmus,CN=expired")
                    .validity(Instant.now().minus(Duration.ofDays(2)), Instant.now().minus(Duration.ofDays(1)))
                    .chainSignedBy(root).get(0));
            bad.put("key-mismatch", factory.issueIntermediateCertificate(root, eastTd, Crypto.generateEcP256().getPublic(),
                    Duration.ofDays(30)));
            Path eastData = eastSpec.dataDir();
            for (Map.Entry<String, X509Certificate> row : bad.entrySet()) {
                Map<String, String> before = trustState(eastData);
                HttpResponse<String> r = rig.post("east", "/v1/admin/rotation/intermediate/sign",
                        RotationRig.JSON.createObjectNode().put("chain", Pem.write(row.getValue())).toString());
                JsonNode error = RotationRig.JSON.readTree(r.body());
                assertThat(r.statusCode()).as(row.getKey() + ": " + r.body()).isEqualTo(422);
                assertThat(error.path("code").asText()).as(r.body()).isEqualTo(row.getKey());
                assertThat(error.path("detail").asText()).contains(Certificates.serialHex(row.getValue()));
                assertThat(trustState(eastData)).as("east's trust state on disk after " + row.getKey()).isEqualTo(before);
                System.out.printf("refused %-20s %d %s%n", row.getKey(), r.statusCode(), error.path("detail").asText());
            }

            // 3. Activate before the peer holds the new CA: refused, naming west (down); then kill -9 between publish
            // and activate; on restart east is in the same phase, and the rotation completes.
            X509Certificate good = factory.issueIntermediateCertificate(root, eastTd, preparedKey, Duration.ofDays(30));
            HttpResponse<String> signed = rig.post("east", "/v1/admin/rotation/intermediate/sign",
                    RotationRig.JSON.createObjectNode().put("chain", Pem.write(good)).toString());
            assertThat(signed.statusCode()).as(signed.body()).isEqualTo(200);
            west.stop();
            assertThat(rig.post("east", "/v1/admin/rotation/intermediate/publish", "").statusCode()).isEqualTo(200);
            Map<String, String> published = trustState(eastData);
            HttpResponse<String> early = rig.post("east", "/v1/admin/rotation/intermediate/activate", "{}");
            JsonNode refusal = RotationRig.JSON.readTree(early.body());
            assertThat(early.statusCode()).as(early.body()).isEqualTo(409);
            assertThat(refusal.path("code").asText()).isEqualTo("peers-lack-ca");
            assertThat(refusal.path("detail").asText()).contains("west: no status");
            assertThat(trustState(eastData)).as("east's trust state after the refused activation").isEqualTo(published);
            System.out.printf("refused %-20s %d %s%n", "activate (peer down)", early.statusCode(),
                    refusal.path("detail").asText());

            east.kill();
            east.start();
            east.awaitReady(Duration.ofSeconds(90));
            JsonNode afterCrash = rig.rotation("east").path("cluster");
            assertThat(afterCrash.path("phase").asText()).as("phase after kill -9 and restart").isEqualTo("published");
            assertThat(afterCrash.path("next").asText()).isEqualTo(Certificates.serialHex(good));
            west.start();
            west.awaitReady(Duration.ofSeconds(90));
            // (Through activation: retirement, the clock's part, was shown above.)
            String resumed = rig.cli(concat(List.of("rotate", "intermediate"), rig.adminOptions("east"), List.of(
                    "--until", "activate", "--poll", "500ms", "--wait-timeout", "2m")));
            System.out.printf("rotation resumed after the crash:%n%s", resumed);
            JsonNode completed = rig.rotation("east").path("cluster");
            assertThat(completed.path("phase").asText()).isEqualTo("activated");
            assertThat(completed.path("active").path("serial").asText()).isEqualTo(Certificates.serialHex(good));
            assertThat(Instant.parse(completed.path("retireAt").asText())).as("the old CA's retirement is scheduled")
                    .isAfter(Instant.now());
        }
    }

    /** Waits until {@code target}'s service answers through {@code egress} (its export has reached the registry). */
    static void awaitReachable(TestWorkload caller, String egress, String target) {
        await(target + " reachable through " + egress).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300))
                .until(() -> call(caller, egress, target).ok());
    }

    static Traffic.Outcome call(TestWorkload caller, String egress, String target) {
        TestWorkload.Call c = caller.get(egress, "hello-" + target + ".demo.svc.clusterset.local", "/hello");
        boolean ok = c.status() == 200 && c.body().contains("\"cluster\":\"" + target + "\"");
        return new Traffic.Outcome(ok, c.status() + " after " + c.millis() + " ms: " + c.body());
    }

    /** Every file of the gateway's trust state (bundles, rotation) with its SHA-256. */
    static Map<String, String> trustState(Path dataDir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        for (String sub : List.of("bundles", "rotation")) {
            Path d = dataDir.resolve(sub);
            if (!Files.exists(d)) {
                continue;
            }
            try (Stream<Path> files = Files.walk(d)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    out.put(dataDir.relativize(f).toString(), sha256(Files.readAllBytes(f)));
                }
            }
        }
        return out;
    }

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @SafeVarargs
    static String[] concat(List<String>... parts) {
        return Stream.of(parts).flatMap(List::stream).toArray(String[]::new);
    }
}
