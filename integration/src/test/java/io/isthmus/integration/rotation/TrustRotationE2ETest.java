package io.isthmus.integration.rotation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.GatewayProcess;
import io.isthmus.integration.federation.SampleService;
import io.isthmus.integration.support.Repo;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.CaFactory;
import io.isthmus.trust.files.AtomicFiles;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.FreePorts;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Pem;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.workloadapi.DefaultX509Source;
import io.spiffe.workloadapi.X509Source;

/**
 * The whole story on real processes: three clusters (east, west, onprem) and a VM agent enrolled in east. Traffic runs
 * the whole time: HTTP/1.1 calls across clusters (workloads whose SVIDs come from their gateways), one long-lived gRPC
 * bidi stream from west to a service in east, an app on the VM calling west's service through the agent's local
 * egress, and west calling the service the VM registered with east (its registration heartbeats keep going). East's intermediate is rotated through every phase; then the federation root: a new root added to every
 * root file (gateways, agent, workloads pick it up hot), every cluster's intermediate rotated onto it, the old root
 * removed. Result: no failed call, the stream never reset, java-spiffe on the VM saw the new SVIDs and bundles, no
 * gateway process restarted (same PIDs). The time of every phase is printed.
 */
@Tag("slow")
class TrustRotationE2ETest {
    private static final String CHAT = "chat.demo.svc.clusterset.local";
    private static final String VMSVC = "vmsvc.demo.svc.clusterset.local";

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    private final Map<String, Long> phaseMillis = new LinkedHashMap<>();

    @Test
    void rotatesAnIntermediateAndTheRootUnderTrafficWithoutAFailureOrARestart() throws Exception {
        Path agentJar = Repo.root().resolve("vm-agent/target/isthmus-agent.jar");
        Assumptions.assumeTrue(Files.exists(RotationRig.appJar()) && Files.exists(agentJar),
                "needs the packaged gateway and agent (bin/test or ./mvnw verify)");
        int chatPort = FreePorts.next();
        long testStart = System.nanoTime();
        try (ChatStream chat = ChatStream.backend(chatPort);
                RotationRig rig = RotationRig.start(dir, (c, p) -> exportChat(c, p, chatPort), "east", "west", "onprem")) {
            phase("start 3 gateways", testStart);
            Map<String, Long> pids = pids(rig);
            ClusterSpec east = rig.cluster("east");
            ClusterSpec west = rig.cluster("west");

            // Workloads and the VM.
            TestWorkload westClient = rig.workload("west", "client");
            TestWorkload eastClient = rig.workload("east", "client");
            TestWorkload onpremClient = rig.workload("onprem", "client");
            int vmEgress = FreePorts.next();
            SampleService vmService = SampleService.start("127.0.0.1", FreePorts.next(), "vm", "vmsvc");
            rig.closeLater(vmService);
            Path services = Files.writeString(dir.resolve("services.properties"), "vmsvc.namespace=demo\n"
                    + "vmsvc.port=80\nvmsvc.backend-port=" + vmService.port() + "\n");
            Path agentLog = dir.resolve("agent.log");
            Process agent = rig.startAgent("east", "vm", agentLog, "--gateway-egress", rig.egress("east"),
                    "--egress-port", Integer.toString(vmEgress), "--services", services.toString(),
                    "--heartbeat-interval", "2s");
            await("the agent serves the Workload API").atMost(Duration.ofSeconds(30))
                    .until(() -> Files.exists(dir.resolve("workload.sock")));
            X509Source vm = DefaultX509Source.newSource(DefaultX509Source.X509SourceOptions.builder()
                    .spiffeSocketPath("unix:" + dir.resolve("workload.sock")).initTimeout(Duration.ofSeconds(15)).build());
            rig.closeLater(vm);
            List<String> vmSigners = new CopyOnWriteArrayList<>();
            HttpClient vmApp = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .proxy(java.net.ProxySelector.of(new java.net.InetSocketAddress("127.0.0.1", vmEgress))).build();

            IntermediateRotationE2ETest.awaitReachable(westClient, rig.egress("west"), "east");
            IntermediateRotationE2ETest.awaitReachable(eastClient, rig.egress("east"), "onprem");
            IntermediateRotationE2ETest.awaitReachable(onpremClient, rig.egress("onprem"), "west");
            List<Traffic> traffic = new ArrayList<>();
            traffic.add(Traffic.start("west->east",
                    () -> IntermediateRotationE2ETest.call(westClient, rig.egress("west"), "east"), 150));
            traffic.add(Traffic.start("east->onprem",
                    () -> IntermediateRotationE2ETest.call(eastClient, rig.egress("east"), "onprem"), 150));
            traffic.add(Traffic.start("onprem->west",
                    () -> IntermediateRotationE2ETest.call(onpremClient, rig.egress("onprem"), "west"), 150));
            await("west reaches the VM's service").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                    .until(() -> westClient.get(rig.egress("west"), VMSVC, "/").status() == 200);
            traffic.add(Traffic.start("west->vm", () -> {
                TestWorkload.Call c = westClient.get(rig.egress("west"), VMSVC, "/to-vm");
                return new Traffic.Outcome(c.status() == 200 && c.body().contains("\"cluster\":\"vm\""),
                        c.status() + " after " + c.millis() + " ms: " + c.body());
            }, 150));
            java.util.function.Supplier<Traffic.Outcome> vmCall = () -> {
                String signer = Certificates.serialHex(vm.getX509Svid().getChain().get(1));
                if (vmSigners.isEmpty() || !vmSigners.getLast().equals(signer)) {
                    vmSigners.add(signer);
                }
                try {
                    HttpResponse<String> r = vmApp.send(HttpRequest.newBuilder(URI.create(
                            "http://hello-west.demo.svc.clusterset.local/from-vm")).timeout(Duration.ofSeconds(15)).build(),
                            HttpResponse.BodyHandlers.ofString());
                    return new Traffic.Outcome(r.statusCode() == 200 && r.body().contains("spiffe://east.acme.internal/ns/demo/sa/vm"),
                            r.statusCode() + " " + r.body());
                } catch (Exception e) {
                    return new Traffic.Outcome(false, e.toString());
                }
            };
            await("the VM reaches west's service").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                    .until(() -> vmCall.get().ok());
            traffic.add(Traffic.start("vm->west", vmCall, 150));
            // Before any rotation every call must succeed: stop waiting at the first failure and name it.
            await("traffic flows").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                    .until(() -> traffic.stream().allMatch(t -> t.calls() > 5)
                            || traffic.stream().anyMatch(t -> !t.failures().isEmpty()));
            for (Traffic tr : traffic) {
                assertThat(tr.failures()).as("%s calls failed before any rotation", tr.name()).isEmpty();
            }
            chat.open(westClient, west.host(), west.ports().egress(), CHAT, 250);
            await("the gRPC stream echoes").atMost(Duration.ofSeconds(30)).until(() -> chat.echoed() > 3);
            assertThat(chat.error()).isNull();

            // 1. East's intermediate, every phase.
            long t = System.nanoTime();
            String out = rig.cli(IntermediateRotationE2ETest.concat(List.of("rotate", "intermediate"),
                    rig.adminOptions("east"), List.of("--root-cert", rig.rootFile().toString(), "--root-key",
                            rig.federation().pki().rootKey().toString(), "--until", "retire", "--poll", "500ms")));
            phase("east intermediate: prepare..retire", t);
            System.out.printf("east's intermediate:%n%s", out);
            String eastSecond = rig.rotation("east").path("cluster").path("active").path("serial").asText();
            await("the VM holds an SVID of east's new CA").atMost(Duration.ofSeconds(30))
                    .until(() -> Certificates.serialHex(vm.getX509Svid().getChain().get(1)).equals(eastSecond));

            // 2. The federation root. (a) A new root joins every root file: gateways, agent, workloads, CLI.
            t = System.nanoTime();
            CaCredential newRoot = new CaFactory(Clock.systemUTC()).createRoot("Isthmus e2e root 2", Duration.ofDays(30));
            Path newRootDir = Files.createDirectories(dir.resolve("root-2"));
            Files.writeString(newRootDir.resolve("root.pem"), Pem.write(newRoot.certificate()));
            AtomicFiles.writePrivate(newRootDir.resolve("root.key"), Pem.writePrivateKey(newRoot.key()));
            X509Certificate oldRoot = rig.federation().pki().root().certificate();
            rig.writeRoots(List.of(oldRoot, newRoot.certificate()));
            String newRootPrint = io.isthmus.trust.status.TrustStatus.fingerprint(newRoot.certificate());
            await("every cluster reports holding the new root").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
                    .until(() -> everyClusterHoldsRoot(rig, newRootPrint));
            await("the agent took the new root").atMost(Duration.ofSeconds(30))
                    .until(() -> Files.readString(agentLog).contains("federation roots now"));
            phase("root: new root hot everywhere", t);
            String status = rig.cli(IntermediateRotationE2ETest.concat(List.of("rotate", "status"), rig.adminOptions("east")));
            System.out.printf("rotate status with the new root added:%n%s", status);

            // (b) Every cluster rotates its intermediate onto the new root (in parallel), through retirement.
            t = System.nanoTime();
            List<Thread> rotations = new ArrayList<>();
            Map<String, String> outputs = new java.util.concurrent.ConcurrentHashMap<>();
            for (String cluster : List.of("east", "west", "onprem")) {
                rotations.add(Thread.ofPlatform().start(() -> outputs.put(cluster, rig.cli(IntermediateRotationE2ETest
                        .concat(List.of("rotate", "intermediate"), rig.adminOptions(cluster), List.of("--root-cert",
                                newRootDir.resolve("root.pem").toString(), "--root-key",
                                newRootDir.resolve("root.key").toString(), "--until", "retire", "--poll", "500ms"))))));
            }
            for (Thread r : rotations) {
                r.join(Duration.ofMinutes(4));
            }
            phase("root: every intermediate moved onto it (prepare..retire)", t);
            outputs.forEach((c, o) -> System.out.printf("%s onto the new root:%n%s", c, o));
            assertThat(outputs).hasSize(3).allSatisfy((c, o) -> assertThat(o).contains("rotation phase retired"));

            // (c) The old root leaves every root file.
            t = System.nanoTime();
            rig.writeRoots(List.of(newRoot.certificate()));
            String oldRootPrint = io.isthmus.trust.status.TrustStatus.fingerprint(oldRoot);
            await("no cluster holds the old root").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
                    .until(() -> noClusterHoldsRoot(rig, oldRootPrint));
            phase("root: old root removed everywhere", t);
            String eastFinal = rig.rotation("east").path("cluster").path("active").path("serial").asText();
            await("the VM holds an SVID under the new root").atMost(Duration.ofSeconds(30))
                    .until(() -> Certificates.serialHex(vm.getX509Svid().getChain().get(1)).equals(eastFinal));

            // Traffic a little longer, then the verdict.
            long later = traffic.get(0).calls() + 10;
            await().atMost(Duration.ofSeconds(30)).until(() -> traffic.stream().allMatch(tr -> tr.calls() > later));
            int pings = chat.sent();
            await().atMost(Duration.ofSeconds(20)).until(() -> chat.echoed() >= pings);
            assertThat(chat.finish(20)).as("the gRPC stream completes normally").isTrue();
            for (Traffic tr : traffic) {
                tr.close();
                System.out.printf("%-14s %5d calls, %d failed%n", tr.name(), tr.calls(), tr.failures().size());
            }
            System.out.printf("gRPC bidi stream: %d messages sent, %d echoed, error: %s%n", chat.sent(), chat.echoed(),
                    chat.error());
            for (Traffic tr : traffic) {
                assertThat(tr.failures()).as("failed %s calls", tr.name()).isEmpty();
            }
            assertThat(chat.error()).as("the gRPC stream was never reset").isNull();
            assertThat(chat.echoed()).isEqualTo(chat.sent());

            // java-spiffe on the VM: the new SVID (east's CA under the new root) and bundle.
            X509Bundle eastBundle = vm.getBundleForTrustDomain(io.spiffe.spiffeid.TrustDomain.parse("east.acme.internal"));
            assertThat(eastBundle.getX509Authorities().stream().map(Certificates::serialHex).toList())
                    .containsExactly(eastFinal);
            System.out.printf("signers of the VM's SVID as java-spiffe saw them: %s%n", vmSigners);
            assertThat(vmSigners).contains(eastSecond, eastFinal);
            assertThat(agent.isAlive()).isTrue();
            assertThat(pids(rig)).as("no gateway restarted").isEqualTo(pids);
            for (GatewayProcess g : rig.federation().gateways()) {
                assertThat(g.isAlive()).as(g.cluster().name()).isTrue();
            }
            phase("whole test", testStart);
            System.out.println("phase times:");
            phaseMillis.forEach((p, ms) -> System.out.printf("  %-60s %7d ms%n", p, ms));
        }
    }

    private void phase(String name, long startNanos) {
        phaseMillis.put(name, (System.nanoTime() - startNanos) / 1_000_000);
    }

    private static Map<String, Long> pids(RotationRig rig) {
        Map<String, Long> pids = new LinkedHashMap<>();
        rig.federation().gateways().forEach(g -> pids.put(g.cluster().name(), g.pid()));
        return pids;
    }

    private static boolean everyClusterHoldsRoot(RotationRig rig, String sha256) throws Exception {
        for (ClusterSpec c : rig.federation().config().clusters()) {
            if (!rig.rotation(c.name()).path("status").path("roots").toString().contains(sha256)) {
                return false;
            }
        }
        return true;
    }

    private static boolean noClusterHoldsRoot(RotationRig rig, String sha256) throws Exception {
        for (ClusterSpec c : rig.federation().config().clusters()) {
            if (rig.rotation(c.name()).path("status").path("roots").toString().contains(sha256)) {
                return false;
            }
        }
        return true;
    }

    /** East exports chat.demo (gRPC), served by the echo backend on loopback. */
    private static void exportChat(ClusterSpec c, Map<String, String> p, int port) {
        if (c.name().equals("east")) {
            p.put("isthmus.registry.static-exports.chat.namespace", "demo");
            p.put("isthmus.registry.static-exports.chat.ports", "grpc:9090");
            p.put("isthmus.registry.static-exports.chat.identities", "spiffe://east.acme.internal/ns/demo/sa/chat");
            p.put("isthmus.proxy.backends.\"" + CHAT + "\"", "127.0.0.1:" + port);
        }
    }
}
