package io.isthmus.integration.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.isthmus.agent.state.AgentState;
import io.isthmus.agent.state.StateDir;
import io.isthmus.gateway.cli.IsthmusCli;
import io.isthmus.integration.support.PackagedJars;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Pem;
import io.spiffe.workloadapi.DefaultX509Source;
import io.spiffe.workloadapi.X509Source;

/**
 * Proves the VM story with real processes: a gateway (the packaged Quarkus app) and a VM agent (its shaded jar).
 * The agent enrols with a one-use token (a second use fails), gets an SVID that verifies under the federation
 * (our verifier and {@code openssl verify}), keeps serving it while the gateway is down, renews after the gateway
 * restarts, and an unmodified java-spiffe client on the "VM" sees the rotated SVID on the Workload API socket.
 * Needs the packaged jars of this checkout (bin/test's {@code verify} builds them before this module's tests); fails
 * otherwise ({@link PackagedJars}).
 */
class VmAgentEndToEndTest {
    private static final String TD = "vm-e2e.isthmus.local";
    private static final String VM_ID = "spiffe://" + TD + "/ns/shop/sa/billing-vm";

    private final List<Process> processes = new ArrayList<>();
    private Path dir;
    private Process gateway;
    private X509Source source;

    @AfterEach
    void stopEverything() throws Exception {
        if (source != null) {
            source.close();
        }
        for (Process p : processes) {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    /** The full story the issue asks for, including a gateway restart (about 70 s on a loaded 2-core machine). */
    @Test
    void vmEnrolsRenewsAcrossAGatewayRestartAndServesTheRotatedSvidToSpiffeClients() throws Exception {
        Path gatewayJar = PackagedJars.gateway();
        Path agentJar = PackagedJars.agent();
        dir = Files.createTempDirectory("isthmus-vm-e2e");
        Path adminToken = dir.resolve("admin-token");
        Files.writeString(adminToken, "e2e-bootstrap-admin-token-0123456789abcdef\n");
        int api = FreePorts.next();
        int mgmt = FreePorts.next();
        List<String> gatewayCommand = List.of(java(), "-Dquarkus.http.host=127.0.0.1",
                "-Dquarkus.http.port=0", "-Dquarkus.http.ssl-port=" + api,
                "-Dquarkus.management.host=127.0.0.1", "-Dquarkus.management.port=" + mgmt,
                "-Disthmus.trust-domain=" + TD, "-Disthmus.dev.generate-ca=true",
                "-Disthmus.data-dir=" + dir.resolve("gateway"), "-Disthmus.bundle-endpoint.host=127.0.0.1",
                "-Disthmus.bundle-endpoint.port=0", "-Disthmus.enrolment.svid-ttl=40s",
                "-Disthmus.enrolment.cluster.bind-port=" + FreePorts.next(),
                // Every other listener of the gateway on a free loopback port too (registry, data plane).
                "-Disthmus.registry.bind-host=127.0.0.1", "-Disthmus.registry.local-port=" + FreePorts.next(),
                "-Disthmus.registry.xsite-port=" + FreePorts.next(), "-Disthmus.proxy.ingress.host=127.0.0.1",
                "-Disthmus.proxy.ingress.port=0", "-Disthmus.proxy.egress.host=127.0.0.1",
                "-Disthmus.proxy.egress.port=0",
                "-Disthmus.admin.bootstrap-token-file=" + adminToken, "-jar", gatewayJar.toString());
        URI gatewayUri = URI.create("https://127.0.0.1:" + api);
        gateway = startGateway(gatewayCommand, mgmt, "gateway-1.log");
        Path root = dir.resolve("gateway/dev-ca/root.pem");
        FederationRoots roots = new FederationRoots(Pem.readCertificates(root));

        String token = createToken(gatewayUri, adminToken, root);
        Path state = dir.resolve("agent");
        Path socket = dir.resolve("workload.sock");
        Path agentLog = dir.resolve("agent.log");
        Process agent = start(List.of(java(), "-jar", agentJar.toString(), "join", "--gateway", gatewayUri.toString(),
                "--token", token, "--root-ca", root.toString(), "--state-dir", state.toString(), "--socket",
                socket.toString()), agentLog);
        await("agent serves the Workload API").atMost(Duration.ofSeconds(30)).until(() -> Files.exists(socket));

        Process reuse = start(List.of(java(), "-jar", agentJar.toString(), "join", "--gateway", gatewayUri.toString(),
                "--token", token, "--root-ca", root.toString(), "--state-dir", dir.resolve("agent-2").toString(),
                "--socket", dir.resolve("w2.sock").toString(), "--exit-after-join"), dir.resolve("agent-2.log"));
        assertThat(reuse.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(reuse.exitValue()).isEqualTo(1);
        assertThat(Files.readString(dir.resolve("agent-2.log"))).contains("token-used");

        source = DefaultX509Source.newSource(DefaultX509Source.X509SourceOptions.builder()
                .spiffeSocketPath("unix:" + socket).initTimeout(Duration.ofSeconds(15)).build());
        io.spiffe.svid.x509svid.X509Svid first = source.getX509Svid();
        assertThat(first.getSpiffeId().toString()).isEqualTo(VM_ID);
        assertVerifiesUnderTheFederation(first.getChain(), roots, new StateDir(state).load());
        assertThat(Files.readString(state.resolve("svid.key"))).contains("PRIVATE KEY");
        assertThat(Files.getPosixFilePermissions(state.resolve("svid.key")).toString()).isEqualTo("[OWNER_READ, OWNER_WRITE]");

        // Gateway down: renewals fail, the agent keeps serving a valid SVID.
        gateway.destroy();
        assertThat(gateway.waitFor(20, TimeUnit.SECONDS)).isTrue();
        await("a renewal fails while the gateway is down").atMost(Duration.ofSeconds(30))
                .until(() -> Files.readString(agentLog).contains("renewal failed"));
        BigInteger servedDuringOutage = source.getX509Svid().getLeaf().getSerialNumber();
        assertThat(source.getX509Svid().getLeaf().getNotAfter()).isInTheFuture();

        // Gateway back (same data dir: same CA, persisted enrolment state): the next retry renews.
        gateway = startGateway(gatewayCommand, mgmt, "gateway-2.log");
        await("the java-spiffe client sees an SVID renewed after the restart").atMost(Duration.ofSeconds(45))
                .pollInterval(Duration.ofMillis(500))
                .until(() -> !source.getX509Svid().getLeaf().getSerialNumber().equals(servedDuringOutage));
        io.spiffe.svid.x509svid.X509Svid rotated = source.getX509Svid();
        assertThat(rotated.getSpiffeId().toString()).isEqualTo(VM_ID);
        assertThat(rotated.getLeaf().getNotAfter()).isAfter(first.getLeaf().getNotAfter());
        assertVerifiesUnderTheFederation(rotated.getChain(), roots, new StateDir(state).load());
        assertThat(agent.isAlive()).isTrue();
    }

    private void assertVerifiesUnderTheFederation(List<X509Certificate> chain, FederationRoots roots, AgentState state)
            throws Exception {
        SvidVerdict verdict = new X509SvidVerifier(roots, state.bundles(), Clock.systemUTC(), Duration.ofSeconds(30))
                .verify(chain);
        assertThat(verdict).as(verdict.toString()).isInstanceOf(SvidVerdict.Verified.class);
        Path leaf = Files.writeString(Files.createTempFile(dir, "leaf", ".pem"), Pem.write(chain.get(0)));
        Path intermediate = Files.writeString(Files.createTempFile(dir, "int", ".pem"), Pem.write(chain.get(1)));
        Process openssl = new ProcessBuilder("openssl", "verify", "-CAfile", dir.resolve("gateway/dev-ca/root.pem").toString(),
                "-untrusted", intermediate.toString(), leaf.toString()).redirectErrorStream(true).start();
        String out = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(openssl.waitFor()).as(out).isZero();
        assertThat(out).contains(": OK");
        assertThat(Certificates.uriSans(chain.get(0))).containsExactly(VM_ID);
    }

    private String createToken(URI gatewayUri, Path adminToken, Path root) {
        PrintStream oldOut = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            exit = IsthmusCli.run("token", "create", "--gateway", gatewayUri.toString(), "--admin-token-file",
                    adminToken.toString(), "--root-ca", root.toString(), "--namespace", "shop", "--service-account",
                    "billing-vm", "--ttl", "15m");
        } finally {
            System.setOut(oldOut);
        }
        assertThat(exit).isZero();
        return out.toString(StandardCharsets.UTF_8).lines().findFirst().orElseThrow();
    }

    private Process startGateway(List<String> command, int mgmt, String log) {
        Process p = start(command, dir.resolve(log));
        HttpClient http = HttpClient.newHttpClient();
        URI ready = URI.create("http://127.0.0.1:" + mgmt + "/q/health/ready");
        await(log + ": gateway ready").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).until(() -> {
            if (!p.isAlive()) {
                throw new IllegalStateException("gateway exited: " + Files.readString(dir.resolve(log)));
            }
            try {
                return http.send(HttpRequest.newBuilder(ready).build(), HttpResponse.BodyHandlers.discarding())
                        .statusCode() == 200;
            } catch (IOException e) {
                return false;
            }
        });
        return p;
    }

    private Process start(List<String> command, Path log) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            processes.add(p);
            return p;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}
