package io.isthmus.integration.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import io.isthmus.agent.gateway.GatewayClient;
import io.isthmus.agent.state.AgentState;
import io.isthmus.agent.state.StateDir;
import io.isthmus.integration.support.NetworkNamespaces;
import io.isthmus.integration.support.PackagedJars;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Pem;

/**
 * Workload attestation with real processes: a gateway, a VM agent with registration entries, and unmodified
 * java-spiffe clients ({@link WorkloadProbe}) run as three different users (setpriv). Proves that {@code nobody}
 * gets only its entry's SVID, {@code daemon} only its own, {@code bin} running the JDK's java gets PERMISSION_DENIED
 * for SVIDs and bundles, and {@code bin} running a copy of java with another hash gets the entry that names that
 * hash: two binaries of one user told apart. Each workload SVID is signed by the gateway over real TLS and verifies
 * with {@code openssl verify} under the federation root, and renewed at half life. Then, on the same gateway and
 * agent, registration entries set at the gateway's admin API: an agent reads only its own, a caller without admin
 * credentials cannot set any, an entry outside the agent's path is refused, and an entry pushed at the gateway gives
 * a refused process its SVID without an agent restart (deleting it refuses the process again). Last, the attacker's
 * cases for streams opened before an entry changes ({@link WorkloadStreamProbe}, a java-spiffe watcher held open): an
 * entry's new SPIFFE ID replaces the old on the stream, and a workload whose entry is deleted or no longer selects it
 * has its streams ended with PERMISSION_DENIED and never receives the renewal. Needs root (to switch users); skips
 * otherwise, or fails where {@code ISTHMUS_REQUIRE_NETNS=1} (CI).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VmWorkloadAttestationE2ETest {
    private static final String TD = "attest-e2e.isthmus.local";
    private static final String VM_ID = "spiffe://" + TD + "/ns/shop/sa/db-1";
    private static final int NOBODY = 65534;
    private static final int DAEMON = 1;
    private static final int BIN = 2;
    private static final String B_ID = "spiffe://" + TD + "/ns/shop/sa/db-2";
    private static final Duration SVID_TTL = Duration.ofSeconds(20);

    private VmGateway rig;
    private Path dir;
    private Path agentLog;
    private Path socket;
    private Path javaCopy;
    private String classpath;
    private Process agent;

    @AfterAll
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

    @BeforeAll
    void startGatewayAndAgent() throws Exception {
        assumeRoot();
        Path agentJar = PackagedJars.agent();
        dir = Files.createTempDirectory("isthmus-attest-e2e");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        // 20 s SVIDs, renewed at half life: the renewals the tests wait for come within 10 s.
        rig = new VmGateway(dir, TD, SVID_TTL);
        rig.start("gateway.log");
        javaCopy = copyOfJava(dir.resolve("jdk-copy"));
        Path entries = Files.writeString(dir.resolve("entries.json"), """
                {"entries": [
                  {"spiffeId": "%1$s/nobody", "selectors": ["unix:user:nobody"]},
                  {"spiffeId": "%1$s/daemon", "selectors": ["unix:uid:1", "unix:gid:1"]},
                  {"spiffeId": "%1$s/tool", "selectors": ["unix:uid:2", "unix:sha256:%2$s", "unix:path:%3$s"]}
                ]}""".formatted(VM_ID, sha256(javaCopy), javaCopy));
        socket = dir.resolve("workload.sock");
        agentLog = dir.resolve("agent.log");
        // Entries from the gateway are pulled every second here (30 s by default), so that a change shows at once.
        agent = rig.start(List.of(VmGateway.java(), "-jar", agentJar.toString(), "join", "--gateway",
                rig.uri().toString(), "--trust-domain", TD, "--token", rig.createToken("shop", "db-1"), "--root-ca", rig.root().toString(),
                "--state-dir", dir.resolve("agent").toString(), "--socket", socket.toString(), "--registration-entries",
                entries.toString(), "--entries-refresh", "1s"), agentLog);
        await("the agent holds the three workload SVIDs").atMost(Duration.ofSeconds(60)).until(() -> {
            assertThat(agent.isAlive()).as("agent alive").isTrue();
            return Files.readString(agentLog).split("got workload SVID", -1).length == 4;
        });
        classpath = readableClasspath(dir.resolve("cp"));
    }

    @Test
    @Order(1)
    void eachLocalUserAndBinaryGetsOnlyItsOwnWorkloadSvid() throws Exception {
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

        // Each workload's SVID is renewed at half life, like the agent's own.
        for (String name : List.of("nobody", "daemon", "tool")) {
            await("the workload SVID of " + name + " is renewed").atMost(SVID_TTL.plusSeconds(20))
                    .until(() -> Files.readString(agentLog).contains("renewed workload SVID " + VM_ID + "/" + name + " "));
        }
        String log = Files.readString(agentLog);
        assertThat(log).contains("workload attestation is on: 3 registration entries").doesNotContain(" ERROR ");
    }

    @Test
    @Order(2)
    void aCallerWithoutAdminCredentialsCannotSetEntriesAndAnEntryOutsideTheAgentsPathIsRefused() throws Exception {
        Path wrongToken = Files.writeString(dir.resolve("wrong-admin-token"), "not-the-bootstrap-token\n");
        Path billing = entriesFile("billing", "{\"spiffeId\": \"" + VM_ID + "/billing\", \"selectors\": [\"unix:uid:0\"]}");
        VmGateway.CliRun refused = rig.cli(wrongToken, "entry", "set", "--agent", VM_ID, "--file", billing.toString());
        assertThat(refused.exit()).as(refused.output()).isNotZero();
        assertThat(refused.output()).contains("401 admin-unauthenticated");

        // An enrolled VM's own SVID is no admin credential either (mutual TLS with agent B's real SVID).
        AgentState b = agentB();
        try (HttpClient asB = client().httpClient(b::svid, b.bundles()::bundleFor)) {
            HttpResponse<String> r = asB.send(HttpRequest.newBuilder(rig.uri().resolve("/v1/admin/registration-entries"))
                    .PUT(HttpRequest.BodyPublishers.ofString("{\"agent\": \"" + VM_ID + "\", \"entries\": []}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(403);
            assertThat(r.body()).contains("admin-forbidden");
        }

        for (String[] bad : List.of(
                new String[] {"spiffe://" + TD + "/ns/shop/sa/db-2/billing", "not-under-vm"},
                new String[] {"spiffe://" + TD + "/ns/shop/sa/db-1x", "not-under-vm"},
                new String[] {"spiffe://other.example/ns/shop/sa/db-1/billing", "other-trust-domain"})) {
            Path file = entriesFile("bad", "{\"spiffeId\": \"" + VM_ID + "/ok\", \"selectors\": [\"unix:uid:0\"]}, "
                    + "{\"spiffeId\": \"" + bad[0] + "\", \"selectors\": [\"unix:uid:0\"]}");
            VmGateway.CliRun outside = rig.cli(rig.adminToken(), "entry", "set", "--agent", VM_ID, "--file", file.toString());
            assertThat(outside.exit()).as(outside.output()).isNotZero();
            assertThat(outside.output()).contains("400 invalid-registration-entry").contains("entries[1] (" + bad[1] + ")")
                    .contains(bad[0]);
        }
        VmGateway.CliRun list = rig.cli(rig.adminToken(), "entry", "list");
        assertThat(list.exit()).as(list.output()).isZero();
        assertThat(list.output()).as("nothing was stored").doesNotContain(VM_ID);
    }

    @Test
    @Order(3)
    void anAgentReadsOnlyItsOwnEntries() throws Exception {
        Path file = entriesFile("reports", "{\"spiffeId\": \"" + VM_ID + "/reports\", \"selectors\": [\"unix:uid:4242\"]}");
        VmGateway.CliRun set = rig.cli(rig.adminToken(), "entry", "set", "--agent", VM_ID, "--file", file.toString());
        assertThat(set.exit()).as(set.output()).isZero();
        AgentState a = new StateDir(dir.resolve("agent")).load();
        AgentState b = agentB();
        assertThat(client().registrationEntries(a.svid(), a.bundles()).toString()).contains(VM_ID + "/reports");
        // Agent B asks with its own SVID: the gateway answers B's entries (none), never A's.
        assertThat(client().registrationEntries(b.svid(), b.bundles())).isEmpty();
        try (HttpClient asB = client().httpClient(b::svid, b.bundles()::bundleFor)) {
            HttpResponse<String> r = asB.send(HttpRequest.newBuilder(rig.uri().resolve("/v1/agent/registration-entries?agent="
                    + java.net.URLEncoder.encode(VM_ID, StandardCharsets.UTF_8))).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.body()).as("a parameter naming agent A changes nothing").contains(B_ID).doesNotContain(VM_ID);
        }
        assertThat(rig.cli(rig.adminToken(), "entry", "delete", "--agent", VM_ID).exit()).isZero();
    }

    @Test
    @Order(4)
    void anEntryPushedAtTheGatewayGivesARefusedProcessItsSvidWithoutAnAgentRestart() throws Exception {
        String java = VmGateway.java();
        assertThat(probe(BIN, BIN, java, classpath, socket)).contains("svids-error=PERMISSION_DENIED: no identity issued");
        Path file = entriesFile("bin-java", "{\"spiffeId\": \"" + VM_ID + "/bin-java\", \"selectors\": [\"unix:uid:2\", "
                + "\"unix:sha256:" + sha256(Path.of(java).toRealPath()) + "\"]}");
        VmGateway.CliRun set = rig.cli(rig.adminToken(), "entry", "set", "--agent", VM_ID, "--file", file.toString());
        assertThat(set.exit()).as(set.output()).isZero();
        await("the agent pulled the entry and holds its SVID").atMost(Duration.ofSeconds(20))
                .until(() -> Files.readString(agentLog).contains("got workload SVID " + VM_ID + "/bin-java "));
        String pushed = probe(BIN, BIN, java, classpath, socket);
        assertThat(pushed).contains("svids=" + VM_ID + "/bin-java\n");
        assertVerifiesUnderTheRoot(pushed, VM_ID + "/bin-java");

        int before = Files.readString(agentLog).length();
        assertThat(rig.cli(rig.adminToken(), "entry", "delete", "--agent", VM_ID).exit()).isZero();
        await("the agent dropped the entry").atMost(Duration.ofSeconds(20)).until(() -> Files.readString(agentLog)
                .substring(before).contains("registration entries now 3 (3 from the file, 0 from the gateway)"));
        assertThat(probe(BIN, BIN, java, classpath, socket)).contains("svids-error=PERMISSION_DENIED: no identity issued")
                .doesNotContain("BEGIN CERTIFICATE");
        assertThat(agent.isAlive()).isTrue();
        assertThat(Files.readString(agentLog)).doesNotContain(" ERROR ");
    }

    /**
     * The attacker's case for entries that change under an open stream: a workload holds FetchX509SVID and
     * FetchJWTBundles streams open while its entry's SPIFFE ID is changed at the gateway. The stream must carry the
     * new ID only (never both, never the old one again), and FetchJWTSVID must answer the new ID only.
     */
    @Test
    @Order(5)
    void anOpenStreamFollowsItsEntrysNewSpiffeIdAndNeverCarriesTheOldOne() throws Exception {
        try (StreamingWorkload w = holdingStreamsOf("bin-java")) {
            setGatewayEntry("bin-java-2", binJavaSelectors());
            String moved = w.awaitLine("x509=" + VM_ID + "/bin-java-2 ");
            assertThat(w.lines()).as("no update ever carries two IDs").noneMatch(l -> l.startsWith("x509=")
                    && l.substring(0, l.indexOf(' ')).contains(","));
            assertThat(w.linesAfter(moved)).as("nothing for the old ID after the new one").noneMatch(
                    l -> l.startsWith("x509=" + VM_ID + "/bin-java "));
            w.send("jwt");
            assertThat(w.awaitLine("jwt=")).isEqualTo("jwt=" + VM_ID + "/bin-java-2");
            assertThat(w.lines()).as("the streams stay open: the caller still has an entry")
                    .noneMatch(l -> l.contains("-end="));
        }
    }

    /**
     * The attacker's case for a changed selector: the entry keeps its SPIFFE ID (so the agent keeps renewing that
     * SVID for whoever matches now) but no longer selects the workload holding the stream. Its streams end with
     * PERMISSION_DENIED, as SPIRE's do, and the renewed SVID never reaches it; FetchJWTSVID refuses it too.
     */
    @Test
    @Order(6)
    void aWorkloadThatNoLongerMatchesItsEntryLosesItsOpenStreamsAndNeverGetsTheRenewal() throws Exception {
        try (StreamingWorkload w = holdingStreamsOf("bin-java")) {
            w.send("jwt");
            assertThat(w.awaitLine("jwt=")).isEqualTo("jwt=" + VM_ID + "/bin-java");
            setGatewayEntry("bin-java", "\"unix:uid:4242\"");
            String ended = w.awaitLine("x509-end=");
            int logMark = Files.readString(agentLog).length();
            assertThat(ended).isEqualTo("x509-end=PERMISSION_DENIED: no identity issued");
            assertThat(w.awaitLine("jwt-bundles-end=")).isEqualTo("jwt-bundles-end=PERMISSION_DENIED: no identity issued");
            w.send("jwt");
            assertThat(w.awaitLine("jwt-error=")).as("the JWT-SVID held for the ID is not handed out")
                    .isEqualTo("jwt-error=PERMISSION_DENIED: no identity issued");
            // The ID is still in an entry, so the agent renews its SVID (at half life): the renewal must not reach
            // the workload that lost the entry.
            await("the agent renews the SVID of " + VM_ID + "/bin-java for its new selectors")
                    .atMost(SVID_TTL.plusSeconds(20)).until(() -> Files.readString(agentLog).substring(logMark)
                            .contains("renewed workload SVID " + VM_ID + "/bin-java "));
            assertThat(w.linesAfter(ended)).as("nothing after the stream ended").noneMatch(l -> l.startsWith("x509="));
        }
    }

    /**
     * An entry deleted at the gateway's admin API (DELETE) while its workload holds a FetchX509SVID stream: after the
     * agent's next pull the stream ends with PERMISSION_DENIED, and FetchJWTSVID refuses the workload.
     */
    @Test
    @Order(7)
    void deletingAnEntryAtTheGatewayEndsTheOpenStreamsOfItsWorkload() throws Exception {
        try (StreamingWorkload w = holdingStreamsOf("bin-java")) {
            assertThat(rig.cli(rig.adminToken(), "entry", "delete", "--agent", VM_ID).exit()).isZero();
            assertThat(w.awaitLine("x509-end=")).isEqualTo("x509-end=PERMISSION_DENIED: no identity issued");
            assertThat(w.awaitLine("jwt-bundles-end=")).isEqualTo("jwt-bundles-end=PERMISSION_DENIED: no identity issued");
            w.send("jwt");
            assertThat(w.awaitLine("jwt-error=")).isEqualTo("jwt-error=PERMISSION_DENIED: no identity issued");
        }
        assertThat(Files.readString(agentLog)).doesNotContain(" ERROR ");
    }

    /**
     * Sets the gateway entry {@code VM_ID/<name>} for {@code bin} running the JDK's java, and starts that workload
     * holding its streams open; returns once it holds the entry's SVID and the JWT bundles.
     */
    private StreamingWorkload holdingStreamsOf(String name) throws Exception {
        setGatewayEntry(name, binJavaSelectors());
        StreamingWorkload w = StreamingWorkload.start(this, BIN);
        w.awaitLine("x509=" + VM_ID + "/" + name + " ");
        w.awaitLine("jwt-bundles=" + TD);
        return w;
    }

    private String binJavaSelectors() throws Exception {
        return "\"unix:uid:2\", \"unix:sha256:" + sha256(Path.of(VmGateway.java()).toRealPath()) + "\"";
    }

    /**
     * Puts exactly one gateway entry for the agent, {@code VM_ID/<name>}, and waits until the agent pulled it (a
     * workload's stream shows when its SVID is signed).
     */
    private void setGatewayEntry(String name, String selectors) throws Exception {
        int mark = Files.readString(agentLog).length();
        Path file = entriesFile(name, "{\"spiffeId\": \"" + VM_ID + "/" + name + "\", \"selectors\": [" + selectors + "]}");
        VmGateway.CliRun set = rig.cli(rig.adminToken(), "entry", "set", "--agent", VM_ID, "--file", file.toString());
        assertThat(set.exit()).as(set.output()).isZero();
        await("the agent pulled the entry " + name).atMost(Duration.ofSeconds(20)).until(() -> Files.readString(agentLog)
                .substring(mark).contains("registration entries now 4 (3 from the file, 1 from the gateway)"));
    }

    /** A {@link WorkloadStreamProbe} run as another user, its output lines collected as they come. */
    private static final class StreamingWorkload implements AutoCloseable {
        private final Process process;
        private final List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final java.io.Writer stdin;

        private StreamingWorkload(Process process) {
            this.process = process;
            this.stdin = new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            Thread.ofPlatform().daemon().name("stream-probe-" + process.pid()).start(() -> {
                try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String l = in.readLine(); l != null; l = in.readLine()) {
                        lines.add(l);
                    }
                } catch (IOException e) {
                    // The probe is gone; its lines so far stay.
                }
            });
        }

        static StreamingWorkload start(VmWorkloadAttestationE2ETest test, int uid) throws IOException {
            return new StreamingWorkload(new ProcessBuilder("setpriv", "--reuid=" + uid, "--regid=" + uid,
                    "--clear-groups", VmGateway.java(), "-XX:-UsePerfData", "-cp", test.classpath,
                    WorkloadStreamProbe.class.getName(), test.socket.toString()).redirectErrorStream(true)
                    .directory(test.dir.toFile()).start());
        }

        List<String> lines() {
            return List.copyOf(lines);
        }

        /** The lines after the first that equals {@code line}. */
        List<String> linesAfter(String line) {
            List<String> all = lines();
            return all.subList(all.indexOf(line) + 1, all.size());
        }

        /** The first line starting with {@code prefix} (waiting for it). */
        String awaitLine(String prefix) {
            try {
                return await("the workload prints " + prefix).atMost(Duration.ofSeconds(30)).until(
                        () -> lines.stream().filter(l -> l.startsWith(prefix)).findFirst(), java.util.Optional::isPresent)
                        .orElseThrow();
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                throw new AssertionError("the workload did not print " + prefix + " within 30 s; it printed " + lines, e);
            }
        }

        void send(String command) throws IOException {
            stdin.write(command + "\n");
            stdin.flush();
        }

        @Override
        public void close() throws Exception {
            try {
                send("quit");
            } catch (IOException e) {
                // Already gone.
            }
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }

    private Path entriesFile(String name, String entries) throws IOException {
        return Files.writeString(dir.resolve("entries-" + name + ".json"), "{\"entries\": [" + entries + "]}");
    }

    private GatewayClient client() throws IOException {
        return new GatewayClient(rig.uri(), new FederationRoots(Pem.readCertificates(rig.root())), TrustDomain.parse(TD),
                Clock.systemUTC());
    }

    /** A second VM (db-2), enrolled (once) by the real agent jar, which exits after the join leaving its state. */
    private AgentState agentB() throws Exception {
        Path state = dir.resolve("agent-b");
        if (new StateDir(state).exists()) {
            return new StateDir(state).load();
        }
        Process join = rig.start(List.of(VmGateway.java(), "-jar", PackagedJars.agent().toString(), "join", "--gateway",
                rig.uri().toString(), "--trust-domain", TD, "--token", rig.createToken("shop", "db-2"), "--root-ca", rig.root().toString(),
                "--state-dir", state.toString(), "--socket", dir.resolve("b.sock").toString(), "--exit-after-join"),
                dir.resolve("agent-b.log"));
        assertThat(join.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(join.exitValue()).as(Files.readString(dir.resolve("agent-b.log"))).isZero();
        return new StateDir(state).load();
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
