package io.isthmus.packaging.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.isthmus.build.BuildInfo;
import io.isthmus.integration.support.MockKubernetes;
import io.isthmus.integration.support.NetworkNamespaces;
import io.isthmus.integration.support.RenderedGateway;
import io.isthmus.packaging.Commands;

/**
 * The gateway's container image, held to the StatefulSet that the cluster-gateway Terraform module renders (user,
 * ports, writable paths), then run the way a kubelet would run it: unpacked with umoci, started by runc as the pod's
 * user with the pod's read-only root, dropped capabilities, volumes, environment and memory limit, in its own network
 * namespace, against a Kubernetes API (fabric8 mock, CRUD). It must pass the StatefulSet's own probes, size its heap
 * from the memory limit, and stop cleanly on SIGTERM. Root, runc and umoci are needed (.ci/run installs the tools).
 */
class GatewayImageIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CONTAINER = "isthmus-pkg-" + ProcessHandle.current().pid();

    @TempDir
    static Path scratch;

    private static JsonNode objects;
    private static JsonNode crds;
    private static JsonNode statefulSet;
    private static PodRuntime pod;
    private static OciImage image;

    /**
     * runc with its container state under this test's scratch directory, not the host's {@code /run/runc}: the package
     * tests, which may run beside this one, check that nothing named after Isthmus is left on the host.
     */
    private static String[] runc(String... args) {
        List<String> rooted = new ArrayList<>(List.of("--root", scratch.resolve("runc-state").toString()));
        rooted.addAll(Arrays.asList(args));
        return Commands.with("runc", rooted);
    }

    @BeforeAll
    static void renderAndOpen() throws Exception {
        // The drain delay (by default 15 s of "not ready" at each SIGTERM, for a load balancer to take the pod out) has
        // no load balancer to wait for here: 2 s keeps the same stop path and shortens this test's two clean stops.
        JsonNode all = RenderedGateway.render(scratch, vars -> vars.put("drain_delay_seconds", 2));
        objects = all.get("objects");
        crds = all.get("crds");
        statefulSet = objects.get("stateful_set");
        pod = new PodRuntime(statefulSet, objects, all.get("secrets"));
        image = OciImage.open(Path.of(System.getProperty("isthmus.image.tarball")), scratch.resolve("oci"));
    }

    private static JsonNode podSecurity() {
        return statefulSet.at("/spec/template/spec/securityContext");
    }

    @Test
    void theImageRunsAsTheStatefulSetsNonRootUserAndGroup() {
        assertThat(podSecurity().get("runAsNonRoot").asBoolean()).isTrue();
        assertThat(image.uid()).as("image user %s vs the StatefulSet's runAsUser", image.user())
                .isEqualTo(podSecurity().get("runAsUser").asInt()).isNotZero();
        // No runAsGroup: the primary group is the image's; the volumes belong to fsGroup.
        assertThat(podSecurity().has("runAsGroup")).isFalse();
        assertThat(image.gid()).as("image group vs the StatefulSet's fsGroup").isEqualTo(podSecurity().get("fsGroup").asInt());
    }

    @Test
    void theImageExposesExactlyTheStatefulSetsContainerPorts() {
        Set<Integer> containerPorts = new HashSet<>();
        pod.container().get("ports").forEach(p -> containerPorts.add(p.get("containerPort").asInt()));
        assertThat(image.exposedTcpPorts()).containsExactlyInAnyOrderElementsOf(containerPorts);
    }

    @Test
    void theImagesWritablePathsAreTheStatefulSetsWritableMounts() {
        // Under a read-only root only mounted volumes are writable: the image declares the same paths as volumes
        // (for Docker), and the StatefulSet mounts an emptyDir or a persistent volume on each.
        assertThat(image.volumes()).containsExactlyInAnyOrderElementsOf(pod.writableMounts());
        assertThat(pod.container().at("/securityContext/readOnlyRootFilesystem").asBoolean()).isTrue();
    }

    @Test
    void theImageStartsThroughTheUnitsLauncherWithItsCacheInTheStateVolume() throws Exception {
        List<String> entrypoint = image.entrypoint();
        // with-jvm-cache STATE_DIR JAVA [options] -jar APP, as the package's unit: the JVM's start-up cache lives in
        // the state volume, which outlives a container restart (and a pod's, when persistent); under the read-only
        // root only a volume is writable, and /tmp is small and not meant to keep anything.
        assertThat(entrypoint.subList(0, 2)).as("the image's entrypoint").containsExactly(GatewayImage.LAUNCHER,
                GatewayImage.DATA);
        assertThat(pod.writableMounts()).as("writable mounts").contains(GatewayImage.DATA);
        assertThat(entrypoint.subList(entrypoint.size() - 2, entrypoint.size()))
                .containsExactly("-jar", GatewayImage.APP + "/quarkus-run.jar");
        String unit = Files.readString(Path.of("src/deb/gateway/files/isthmus-gateway.service"));
        assertThat(unit).as("the systemd unit starts the same way").contains(
                "ExecStart=/usr/lib/isthmus-gateway/bin/with-jvm-cache " + GatewayImage.DATA + " ");
        assertThat(String.join(" ", entrypoint)).as("the launcher chooses the cache options itself")
                .doesNotContain("SharedArchive", "AOTCache");
    }

    @Test
    void theGatewayFromTheImagePassesTheStatefulSetsProbesUnderThePodsConstraints() throws Exception {
        Assumptions.assumeTrue(Commands.isRoot(), "runc needs root to run the image (bin/test runs as root in CI)");
        for (String tool : List.of("runc", "umoci", "ip")) {
            assertThat(Commands.onPath(tool)).as("%s must be installed (.ci/run installs it)", tool).isTrue();
        }
        Path bundle = image.unpack(scratch.resolve("bundle"));
        try (NetworkNamespaces net = NetworkNamespaces.create(List.of("gw"));
                MockKubernetes api = MockKubernetes.start(net.bridgeAddress())) {
            for (JsonNode crd : crds) {
                api.client().resource(JSON.treeToValue(crd, GenericKubernetesResource.class)).create();
            }
            String podIp = net.address("gw");
            Map<String, String> cluster = new LinkedHashMap<>();
            api.gatewayProperties().forEach((k, v) -> {
                if (k.startsWith("quarkus.kubernetes-client.") && !k.endsWith(".namespace")) {
                    cluster.put(k.toUpperCase().replace('.', '_').replace('-', '_'), v);
                }
            });
            // The launcher ends the JVM's AOT training this long after start (default 60 s) with the runtime's jcmd: here
            // once the gateway is ready (the JVM pauses while it writes down what it recorded).
            cluster.put("ISTHMUS_AOT_TRAINING_SECONDS", "15");
            pod.apply(bundle, scratch.resolve("volumes"),
                    Map.of("metadata.name", "isthmus-gateway-7d9f-abcde", "status.podIP", podIp), cluster,
                    net.namespaceOf("gw"));
            File log = scratch.resolve("gateway.log").toFile();
            Process runc = new ProcessBuilder(runc("run", "--bundle", bundle.toString(), CONTAINER))
                    .redirectErrorStream(true).redirectOutput(log).start();
            boolean stopped;
            try {
                HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
                JsonNode c = pod.container();
                URI started = probe(podIp, c.get("startupProbe"));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(c.at("/startupProbe/periodSeconds").asInt()
                        * (long) c.at("/startupProbe/failureThreshold").asInt());
                int status = -1;
                while (status != 200 && System.nanoTime() < deadline && runc.isAlive()) {
                    status = get(http, started).statusCode();
                    Thread.sleep(500);
                }
                assertThat(status).as("startup probe %s within the StatefulSet's budget; log:%n%s", started,
                        tail(log)).isEqualTo(200);
                Reply ready = awaitOk(http, probe(podIp, c.get("readinessProbe")), Duration.ofSeconds(60));
                assertThat(JSON.readTree(ready.body()).get("status").asText()).isEqualTo("UP");
                assertThat(get(http, probe(podIp, c.get("livenessProbe"))).statusCode()).isEqualTo(200);

                long pid = JSON.readTree(Commands.run(runc("state", CONTAINER)).ok()).get("pid").asLong();
                String proc = Files.readString(Path.of("/proc/" + pid + "/status"));
                int uid = podSecurity().get("runAsUser").asInt();
                assertThat(proc).as("the gateway's process").containsPattern("(?m)^Uid:\\s+" + uid + "\\s+" + uid)
                        .containsPattern("(?m)^CapEff:\\s+0+$").containsPattern("(?m)^NoNewPrivs:\\s+1$");
                assertThat(Files.readAllLines(Path.of("/proc/" + pid + "/mountinfo")).stream()
                        .filter(l -> l.split(" ")[4].equals("/")).findFirst().orElseThrow())
                        .as("the container's root mount").containsPattern(" ro[, ]");

                // The launcher ends the AOT training 15 s after the start, about now, and the JVM pauses while it writes
                // what it recorded: a 5 s scrape once timed out then (stop 44). A scrape is retried as Prometheus would.
                String metrics = awaitOk(http, URI.create("http://" + podIp + ":" + pod.containerPort(
                        c.at("/readinessProbe/httpGet/port")) + "/q/metrics"), Duration.ofSeconds(60)).body();
                BuildInfo build = BuildInfo.current();
                assertThat(metrics).contains("isthmus_build_info{commit=\"" + build.commit() + "\",version=\""
                        + build.version() + "\"} 1.0");
                double heap = metric(metrics, "jvm_memory_max_bytes{area=\"heap\",id=\"G1 Old Gen\"}");
                assertThat(heap / pod.memoryLimitBytes()).as("max heap / the StatefulSet's memory limit (G1)")
                        .isCloseTo(0.75, within(0.02));

                // The first start is the JVM's AOT training run, which the launcher ends (jcmd AOT.end_recording) while
                // the gateway runs: the JVM writes its cache into the state volume then, not at the stop.
                Path state = scratch.resolve("volumes").resolve(pod.volumeMountedAt(GatewayImage.DATA));
                long written = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while (cacheFiles(state).isEmpty() || !cacheFiles(state).stream().allMatch(f -> f.endsWith(".aot"))) {
                    assertThat(System.nanoTime()).as("the AOT cache, whole, in %s while the gateway runs: %s; log:%n%s",
                            state, cacheFiles(state), tail(log)).isLessThan(written);
                    Thread.sleep(500);
                }
                assertThat(runc.isAlive()).as("the gateway still runs").isTrue();
            } finally {
                long stopping = System.nanoTime();
                stopped = stop(runc);
                System.out.printf("GatewayImageIT: the first (training) stop took %d ms%n",
                        (System.nanoTime() - stopping) / 1_000_000);
            }
            assertThat(stopped).as("the gateway stops within 60 s of SIGTERM").isTrue();
            // The module's peers do not exist here, so this start is also "a peer not up yet". Known defect, left to
            // the registry: JGroups' RELAY2 logs JGRP000290 "no route ... to SiteMaster(<peer>)" at ERROR while a
            // peer site is down (readiness already reports it as disconnected). Every other ERROR fails the test.
            String output = Files.readString(log.toPath()).lines()
                    .filter(l -> !l.contains("ERROR [org.jgr.pro.rel.RELAY2] JGRP000290: "))
                    .collect(java.util.stream.Collectors.joining("\n"));
            assertThat(output).as("a normal start and a clean stop log no ERROR, no stack trace, no JVM warning or error")
                    .doesNotContain(" ERROR ", "[warning]", "[error").doesNotContainPattern("(?m)^\\s+at [a-z]")
                    .contains("federation-gateway stopped");
            assertThat(runc.exitValue()).as("exit status after SIGTERM").isIn(0, 143);

            Path state = scratch.resolve("volumes").resolve(pod.volumeMountedAt(GatewayImage.DATA));
            List<String> trained = cacheFiles(state);
            assertThat(trained).as("the state volume after the first clean stop").singleElement().asString()
                    .matches("jvm-[0-9a-f]+\\.aot");
            String cache = GatewayImage.DATA + "/" + trained.get(0);
            // A container restart on the same volumes maps it (seen in the JVM's memory maps, not taken from its word).
            String restarted = startUntilReady(bundle, podIp, "gateway-restarted.log",
                    maps -> assertThat(maps).as("the restarted JVM's mappings").contains(cache), true);
            assertThat(restarted).as("a start from the cache and a clean stop: no ERROR, stack trace, JVM warning or error")
                    .doesNotContain("[warning]", "[error").contains("federation-gateway stopped");
            // An upgrade: the application's files change (here quarkus-run.jar's time, which the JVM holds a cache to).
            // Its first start must not map the old cache (the JVM would log errors at every start) but train anew.
            Files.setLastModifiedTime(bundle.resolve("rootfs" + GatewayImage.APP + "/quarkus-run.jar"),
                    java.nio.file.attribute.FileTime.from(java.time.Instant.now()));
            String upgraded = startUntilReady(bundle, podIp, "gateway-upgraded.log",
                    maps -> assertThat(maps).as("the upgraded JVM's mappings").doesNotContain("/jvm-"), false);
            assertThat(upgraded).as("the upgraded application's first start").doesNotContain("[warning]", "[error");
            assertThat(cacheFiles(state)).as("the old cache is gone").doesNotContainAnyElementsOf(trained);
        } finally {
            Commands.run(runc("delete", "--force", CONTAINER));
        }
    }

    /**
     * Runs the container again on the same bundle and volumes until ready, hands its memory maps to {@code check}, then
     * stops it with SIGTERM ({@code clean}) or kills it; its log without the known JGRP000290 lines, checked to hold no
     * ERROR and no stack trace.
     */
    private static String startUntilReady(Path bundle, String podIp, String logName,
            java.util.function.Consumer<String> check, boolean clean) throws Exception {
        Commands.run(runc("delete", "--force", CONTAINER));
        File log = scratch.resolve(logName).toFile();
        Process runc = new ProcessBuilder(runc("run", "--bundle", bundle.toString(), CONTAINER))
                .redirectErrorStream(true).redirectOutput(log).start();
        try {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            awaitOk(http, probe(podIp, pod.container().get("readinessProbe")), Duration.ofSeconds(120));
            long pid = JSON.readTree(Commands.run(runc("state", CONTAINER)).ok()).get("pid").asLong();
            check.accept(Files.readString(Path.of("/proc/" + pid + "/maps")));
        } finally {
            if (clean) {
                assertThat(stop(runc)).as("%s: the gateway stops within 60 s of SIGTERM", logName).isTrue();
            } else {
                Commands.run(runc("kill", CONTAINER, "KILL"));
                runc.waitFor(10, TimeUnit.SECONDS);
            }
        }
        String output = Files.readString(log.toPath()).lines()
                .filter(l -> !l.contains("ERROR [org.jgr.pro.rel.RELAY2] JGRP000290: "))
                .collect(java.util.stream.Collectors.joining("\n"));
        assertThat(output).as("%s: no ERROR and no stack trace", logName).doesNotContain(" ERROR ")
                .doesNotContainPattern("(?m)^\\s+at [a-z]");
        return output;
    }

    /** The JVM start-up cache files ({@code jvm-*}) in a state directory. */
    private static List<String> cacheFiles(Path state) throws java.io.IOException {
        try (java.util.stream.Stream<Path> files = Files.list(state)) {
            return files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith("jvm-")).sorted().toList();
        }
    }

    /** SIGTERM, as the kubelet sends it (again until runc has the container), then KILL after 60 s. */
    private static boolean stop(Process runc) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (runc.isAlive() && System.nanoTime() < deadline) {
            Commands.run(runc("kill", CONTAINER, "TERM"));
            runc.waitFor(2, TimeUnit.SECONDS);
        }
        if (runc.isAlive()) {
            Commands.run(runc("kill", CONTAINER, "KILL"));
            runc.waitFor(10, TimeUnit.SECONDS);
            return false;
        }
        return true;
    }

    private static URI probe(String podIp, JsonNode probe) {
        JsonNode get = probe.get("httpGet");
        return URI.create("http://" + podIp + ":" + pod.containerPort(get.get("port")) + get.get("path").asText());
    }

    /** A probe's answer; status -1 while nothing listens yet (the kubelet counts that as a failure too). */
    private record Reply(int statusCode, String body) {
    }

    private static Reply get(HttpClient http, URI uri) throws InterruptedException {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body());
        } catch (java.io.IOException notListeningYet) {
            return new Reply(-1, notListeningYet.toString());
        }
    }

    private static Reply awaitOk(HttpClient http, URI uri, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Reply r = get(http, uri);
        while (r.statusCode() != 200 && System.nanoTime() < deadline) {
            Thread.sleep(500);
            r = get(http, uri);
        }
        assertThat(r.statusCode()).as("%s: %s", uri, r.body()).isEqualTo(200);
        return r;
    }

    private static double metric(String exposition, String series) {
        return exposition.lines().filter(l -> l.startsWith(series + " ")).findFirst()
                .map(l -> Double.parseDouble(l.substring(series.length() + 1).strip()))
                .orElseThrow(() -> new AssertionError("no " + series + " in /q/metrics"));
    }

    private static String tail(File log) throws java.io.IOException {
        List<String> lines = Files.readAllLines(log.toPath());
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }

    @AfterAll
    static void noContainerLeftBehind() throws Exception {
        Commands.run(runc("delete", "--force", CONTAINER));
    }
}
