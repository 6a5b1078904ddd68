package io.isthmus.integration.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import io.isthmus.integration.support.NetworkNamespaces;
import io.isthmus.integration.support.PackagedJars;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Pem;

/**
 * Workload attestation with real processes: a gateway, a VM agent with registration entries, and unmodified
 * java-spiffe clients ({@link WorkloadProbe}) run as three different users (setpriv). Proves that {@code nobody}
 * gets only its entry's SVID, {@code daemon} only its own, {@code bin} running the JDK's java gets PERMISSION_DENIED
 * for SVIDs and bundles, and {@code bin} running a copy of java with another hash gets the entry that names that
 * hash: two binaries of one user told apart. Each workload SVID is signed by the gateway over real TLS and verifies
 * with {@code openssl verify} under the federation root, and renewed at half life. Needs root (to switch users); skips otherwise, or fails
 * where {@code ISTHMUS_REQUIRE_NETNS=1} (CI).
 */
class VmWorkloadAttestationE2ETest {
    private static final String TD = "attest-e2e.isthmus.local";
    private static final String VM_ID = "spiffe://" + TD + "/ns/shop/sa/db-1";
    private static final int NOBODY = 65534;
    private static final int DAEMON = 1;
    private static final int BIN = 2;

    private VmGateway rig;
    private Path dir;

    @AfterEach
    void stop() throws Exception {
        if (rig != null) {
            rig.close();
        }
        // The logs stay for a look after a failure; the classpath links and the java copy go.
        for (String copies : List.of("cp", "jdk-copy")) {
            if (dir != null && Files.isDirectory(dir.resolve(copies))) {
                try (var files = Files.walk(dir.resolve(copies))) {
                    for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                        Files.delete(p);
                    }
                }
            }
        }
    }

    @Test
    void eachLocalUserAndBinaryGetsOnlyItsOwnWorkloadSvid() throws Exception {
        assumeRoot();
        Path agentJar = PackagedJars.agent();
        dir = Files.createTempDirectory("isthmus-attest-e2e");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        rig = new VmGateway(dir, TD, Duration.ofSeconds(40));
        rig.start("gateway.log");
        Path javaCopy = copyOfJava(dir.resolve("jdk-copy"));
        Path entries = Files.writeString(dir.resolve("entries.json"), """
                {"entries": [
                  {"spiffeId": "%1$s/nobody", "selectors": ["unix:user:nobody"]},
                  {"spiffeId": "%1$s/daemon", "selectors": ["unix:uid:1", "unix:gid:1"]},
                  {"spiffeId": "%1$s/tool", "selectors": ["unix:uid:2", "unix:sha256:%2$s", "unix:path:%3$s"]}
                ]}""".formatted(VM_ID, sha256(javaCopy), javaCopy));
        Path socket = dir.resolve("workload.sock");
        Path agentLog = dir.resolve("agent.log");
        Process agent = rig.start(List.of(VmGateway.java(), "-jar", agentJar.toString(), "join", "--gateway",
                rig.uri().toString(), "--token", rig.createToken("shop", "db-1"), "--root-ca", rig.root().toString(),
                "--state-dir", dir.resolve("agent").toString(), "--socket", socket.toString(), "--registration-entries",
                entries.toString()), agentLog);
        await("the agent holds the three workload SVIDs").atMost(Duration.ofSeconds(60)).until(() -> {
            assertThat(agent.isAlive()).as("agent alive").isTrue();
            return Files.readString(agentLog).split("got workload SVID", -1).length == 4;
        });
        String classpath = readableClasspath(dir.resolve("cp"));
        String java = VmGateway.java();

        String nobody = probe(NOBODY, NOBODY, java, classpath, socket);
        assertThat(nobody).contains("svids=" + VM_ID + "/nobody\n").contains("bundles=" + TD + "\n");
        assertVerifiesUnderTheRoot(nobody, VM_ID + "/nobody");
        String daemon = probe(DAEMON, DAEMON, java, classpath, socket);
        assertThat(daemon).contains("svids=" + VM_ID + "/daemon\n");
        assertVerifiesUnderTheRoot(daemon, VM_ID + "/daemon");

        String stranger = probe(BIN, BIN, java, classpath, socket);
        assertThat(stranger).contains("svids-error=PERMISSION_DENIED: no identity issued")
                .contains("bundles-error=PERMISSION_DENIED: no identity issued").doesNotContain("BEGIN CERTIFICATE");

        String tool = probe(BIN, BIN, javaCopy.toString(), classpath, socket);
        assertThat(tool).contains("svids=" + VM_ID + "/tool\n");
        assertVerifiesUnderTheRoot(tool, VM_ID + "/tool");

        // 40 s SVIDs: each workload's is renewed at half life, like the agent's own.
        for (String name : List.of("nobody", "daemon", "tool")) {
            await("the workload SVID of " + name + " is renewed").atMost(Duration.ofSeconds(40))
                    .until(() -> Files.readString(agentLog).contains("renewed workload SVID " + VM_ID + "/" + name + " "));
        }
        String log = Files.readString(agentLog);
        assertThat(log).contains("workload attestation is on: 3 registration entries").doesNotContain(" ERROR ");
    }

    private static void assumeRoot() throws IOException {
        boolean root = ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).intValue() == 0;
        if (!root && "1".equals(System.getenv(NetworkNamespaces.REQUIRE_ENV))) {
            throw new AssertionError("the workload attestation test must run here (" + NetworkNamespaces.REQUIRE_ENV
                    + "=1) but needs root to run its clients as other users (setpriv)");
        }
        Assumptions.assumeTrue(root, () -> "workload attestation across users needs root to run clients as other users"
                + " (setpriv); skipped (set " + NetworkNamespaces.REQUIRE_ENV + "=1 to fail instead)");
    }

    /** Runs {@link WorkloadProbe} as uid/gid with no supplementary groups; its output. */
    private String probe(int uid, int gid, String java, String classpath, Path socket) throws Exception {
        Process p = new ProcessBuilder("setpriv", "--reuid=" + uid, "--regid=" + gid, "--clear-groups", java,
                "-XX:-UsePerfData", "-cp", classpath, WorkloadProbe.class.getName(), socket.toString())
                .redirectErrorStream(true).directory(dir.toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String text = new String(out, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(text).isZero();
        return text;
    }

    private void assertVerifiesUnderTheRoot(String probeOutput, String id) throws Exception {
        var chain = Pem.readCertificates(probeOutput.substring(probeOutput.indexOf("-----BEGIN")), "probe output");
        assertThat(Certificates.uriSans(chain.get(0))).containsExactly(id);
        Path leaf = Files.writeString(Files.createTempFile(dir, "leaf", ".pem"), Pem.write(chain.get(0)));
        Path intermediate = Files.writeString(Files.createTempFile(dir, "int", ".pem"), Pem.write(chain.get(1)));
        Process openssl = new ProcessBuilder("openssl", "verify", "-CAfile", rig.root().toString(), "-untrusted",
                intermediate.toString(), leaf.toString()).redirectErrorStream(true).start();
        String out = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(openssl.waitFor()).as(out).isZero();
    }

    /**
     * A second java binary with another SHA-256: the launcher copied with one byte appended (the ELF loader ignores
     * it), beside links to the JDK's lib and conf so that it finds its runtime.
     */
    private static Path copyOfJava(Path home) throws IOException {
        Path real = Path.of(System.getProperty("java.home"));
        Files.createDirectories(home.resolve("bin"));
        Path java = home.resolve("bin/java");
        Files.copy(real.resolve("bin/java"), java);
        Files.write(java, new byte[] {0}, StandardOpenOption.APPEND);
        for (String d : List.of("lib", "conf", "release")) {
            Files.createSymbolicLink(home.resolve(d), real.resolve(d));
        }
        return java;
    }

    /**
     * This test's classpath, readable by other users: jars (in root's home, mode 700) hard-linked into {@code cp}
     * (same file system) or copied; directories (the checkout) are readable already.
     */
    private static String readableClasspath(Path cp) throws IOException {
        Files.createDirectories(cp);
        String path = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (String entry : path.split(File.pathSeparator)) {
            Path p = Path.of(entry);
            if (Files.isDirectory(p)) {
                entries.add(entry);
            } else if (Files.isRegularFile(p)) {
                Path link = cp.resolve((i++) + "-" + p.getFileName());
                try {
                    Files.createLink(link, p);
                } catch (IOException | UnsupportedOperationException e) {
                    Files.copy(p, link);
                }
                entries.add(link.toString());
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
