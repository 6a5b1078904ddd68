package io.isthmus.integration.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.math.BigInteger;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.isthmus.agent.state.AgentState;
import io.isthmus.agent.state.StateDir;
import io.isthmus.integration.support.PackagedJars;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.svid.X509SvidVerifier;
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

    private Path dir;
    private VmGateway rig;
    private Process gateway;
    private X509Source source;

    @AfterEach
    void stopEverything() throws Exception {
        if (source != null) {
            source.close();
        }
        if (rig != null) {
            rig.close();
        }
    }

    /** The full story the issue asks for, including a gateway restart (about 70 s on a loaded 2-core machine). */
    @Test
    void vmEnrolsRenewsAcrossAGatewayRestartAndServesTheRotatedSvidToSpiffeClients() throws Exception {
        Path agentJar = PackagedJars.agent();
        dir = Files.createTempDirectory("isthmus-vm-e2e");
        rig = new VmGateway(dir, TD, Duration.ofSeconds(40));
        URI gatewayUri = rig.uri();
        gateway = rig.start("gateway-1.log");
        Path root = rig.root();
        FederationRoots roots = new FederationRoots(Pem.readCertificates(root));

        String token = rig.createToken("shop", "billing-vm");
        Path state = dir.resolve("agent");
        Path socket = dir.resolve("workload.sock");
        Path agentLog = dir.resolve("agent.log");
        Process agent = start(List.of(java(), "-jar", agentJar.toString(), "join", "--gateway", gatewayUri.toString(),
                "--trust-domain", TD, "--token", token, "--root-ca", root.toString(), "--state-dir", state.toString(), "--socket",
                socket.toString()), agentLog);
        await("agent serves the Workload API").atMost(Duration.ofSeconds(30)).until(() -> Files.exists(socket));

        Process reuse = start(List.of(java(), "-jar", agentJar.toString(), "join", "--gateway", gatewayUri.toString(),
                "--trust-domain", TD, "--token", token, "--root-ca", root.toString(), "--state-dir", dir.resolve("agent-2").toString(),
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
        gateway = rig.start("gateway-2.log");
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

    private Process start(List<String> command, Path log) {
        return rig.start(command, log);
    }

    private static String java() {
        return VmGateway.java();
    }
}
