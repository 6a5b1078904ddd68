package io.isthmus.integration.federation;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import io.isthmus.trust.spiffe.TrustDomain;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Start-up benchmark of a lone gateway (one cluster, no peers): the time from starting its process to
 * {@code /q/health/ready} answering 200 (UP), median of N starts, for variants measured in the same run:
 * <ul>
 * <li>{@code before}: the old discovery wait (a first replica waits 2 s for replicas that are not there; emulated
 * with a configured replica that is down and {@code local-join-timeout=2s}), no JVM start-up cache;</li>
 * <li>{@code after}: the defaults (a lone replica does not wait), no JVM start-up cache;</li>
 * <li>{@code after+cache}: the defaults and the JVM start-up cache ({@link JvmStartupCache}); one training start,
 * not counted, writes the cache first;</li>
 * <li>{@code packaged}: the defaults, started the way the isthmus-gateway package's systemd unit starts it (the jlink
 * runtime of the packaging module, the unit's launcher and JVM options, including its start-up cache in the state
 * directory: the AOT cache on a JDK 25 runtime; {@link PackagedLaunch}); one training start, not counted, writes the
 * cache first;</li>
 * <li>{@code packaged-first}: the same without the cache (deleted before each start): a package's first start, which
 * writes the cache when it stops;</li>
 * <li>{@code packaged-baseline}: as {@code packaged}, from another unit file ({@code --baseline-unit}, e.g. an older
 * release's), to compare two ways of starting the package in one interleaved run.</li>
 * </ul>
 * Variants are interleaved (one start of each in turn), so that a change of load on a shared machine hits them
 * alike. Prints a table and the load average before and after. Run by {@code benchmarks/start/run.sh}.
 */
@Command(name = "start-times", mixinStandardHelpOptions = true, description = "Measures gateway start to ready.")
public final class StartTimes implements Callable<Integer> {
    @Option(names = "--runs", defaultValue = "5", description = "Starts per variant, default ${DEFAULT-VALUE}.")
    int runs;

    @Option(names = "--base-port", defaultValue = "21000", description = "First port, default ${DEFAULT-VALUE}.")
    int basePort;

    @Option(names = "--dir", defaultValue = "benchmarks/start/target", description = "Work directory (wiped).")
    Path dir;

    @Option(names = "--app", defaultValue = "federation-gateway/target/quarkus-app/quarkus-run.jar",
            description = "The packaged gateway.")
    Path app;

    @Option(names = "--variants", split = ",", defaultValue = "before,after,after+cache,packaged-first,packaged",
            description = "Which variants, default ${DEFAULT-VALUE}.")
    List<String> only;

    @Option(names = "--unit", defaultValue = "packaging/src/deb/gateway/files/isthmus-gateway.service",
            description = "The package's systemd unit (its ExecStart is what the packaged variants run).")
    Path unit;

    @Option(names = "--baseline-unit", description = "A second unit file, started as variant packaged-baseline.")
    Path baselineUnit;

    @Option(names = "--launchers", defaultValue = "packaging/src/main/sh",
            description = "The package's launcher scripts (/usr/lib/isthmus-gateway/bin).")
    Path launchers;

    @Option(names = "--runtime", defaultValue = "packaging/target/runtime",
            description = "The packaging module's jlink runtime (./mvnw -pl packaging -am package -DskipTests).")
    Path runtime;

    public static void main(String[] args) {
        System.exit(new CommandLine(new StartTimes()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Path work = dir.toAbsolutePath();
        LocalFederation.deleteRecursively(work);
        ClusterSpec lone = new ClusterSpec("solo", TrustDomain.parse("solo.isthmus.local"), "127.0.0.1",
                ClusterSpec.Ports.fromBase(basePort), work.resolve("solo"));
        int absentReplica = basePort + 99;
        Map<String, Map<String, String>> variants = new LinkedHashMap<>();
        variants.put("before", Map.of("isthmus.registry.local-members", "127.0.0.1:" + absentReplica,
                "isthmus.registry.local-join-timeout", "2s"));
        variants.put("after", Map.of());
        variants.put("after+cache", Map.of());
        variants.put("packaged-first", Map.of());
        variants.put("packaged", Map.of());
        variants.put("packaged-baseline", Map.of());
        for (String v : only) {
            if (!variants.containsKey(v)) {
                throw new CommandLine.ParameterException(new CommandLine(this), "--variants: unknown variant '" + v
                        + "'; expected some of " + variants.keySet());
            }
        }
        variants.keySet().retainAll(only);
        if (only.contains("packaged-baseline") && baselineUnit == null) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--variants packaged-baseline needs"
                    + " --baseline-unit FILE (e.g. git show main:" + unit + " > /tmp/main.service)");
        }
        if ((only.contains("packaged") || only.contains("packaged-first") || only.contains("packaged-baseline"))
                && !Files.isExecutable(runtime.resolve("bin/java"))) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--runtime " + runtime + " has no bin/java:"
                    + " build the packaging module first (./mvnw -pl packaging -am package -DskipTests)");
        }
        String loadBefore = loadAverage();
        try (Federation federation = Federation.prepare(work, app.toAbsolutePath(), List.of(lone), Duration.ofSeconds(5),
                (c, p) -> { }, Map.of())) {
            GatewayProcess base = federation.gateway("solo");
            Map<String, GatewayProcess> gateways = new LinkedHashMap<>();
            variants.forEach((name, overrides) -> gateways.put(name, base.reconfigured(overrides)));
            Map<String, PackagedLaunch> packaged = new LinkedHashMap<>();
            for (String v : List.of("packaged-first", "packaged", "packaged-baseline")) {
                if (gateways.containsKey(v)) {
                    PackagedLaunch launch = PackagedLaunch.fromUnit(v.equals("packaged-baseline") ? baselineUnit : unit,
                            launchers, runtime, app.toAbsolutePath().getParent(),
                            work.resolve(v + "-state"));
                    Files.createDirectories(work.resolve(v + "-state"));
                    gateways.get(v).launchedAs(launch);
                    packaged.put(v, launch);
                }
            }
            if (packaged.containsKey("packaged")) {
                System.out.printf("packaged: %s -jar %s%n", String.join(" ", packaged.get("packaged").jvm()),
                        packaged.get("packaged").jar());
            }
            if (gateways.containsKey("after+cache")) {
                gateways.get("after+cache").useStartupCache(work.resolve("jvm-cache"));
                System.out.printf("training start of after+cache (writes the JVM cache): %s%n",
                        startToReady(gateways.get("after+cache")));
            }
            for (String v : List.of("packaged", "packaged-baseline")) {
                if (gateways.containsKey(v)) {
                    System.out.printf("training start of %s (writes the JVM cache): %s%n", v, startToReady(gateways.get(v)));
                }
            }
            Map<String, List<Long>> times = new LinkedHashMap<>();
            for (int i = 0; i < runs; i++) {
                for (Map.Entry<String, GatewayProcess> v : gateways.entrySet()) {
                    if (v.getKey().equals("packaged-first")) {
                        for (Path f : packaged.get("packaged-first").cacheFiles()) {
                            Files.deleteIfExists(f);
                        }
                    }
                    Start start = startToReady(v.getValue());
                    times.computeIfAbsent(v.getKey(), k -> new ArrayList<>()).add(start.readyMs());
                    System.out.printf("  %-14s run %d: %s%n", v.getKey(), i + 1, start);
                }
            }
            System.out.printf("%nlone gateway, process start to /q/health/ready UP, %d starts per variant (%s, %d CPUs)%n",
                    runs, Runtime.version(), Runtime.getRuntime().availableProcessors());
            System.out.printf("%-14s | %9s | %7s | %7s | %s%n", "variant", "median ms", "min ms", "max ms", "all ms");
            times.forEach((name, all) -> {
                List<Long> sorted = all.stream().sorted().toList();
                System.out.printf("%-14s | %9d | %7d | %7d | %s%n", name, sorted.get(sorted.size() / 2), sorted.get(0),
                        sorted.get(sorted.size() - 1), all);
            });
            System.out.printf("load average before: %s; after: %s%n", loadBefore, loadAverage());
        }
        return 0;
    }

    /** One start: process start to ready, and SIGTERM to exit (where a training start writes its cache). */
    private record Start(long readyMs, long stopMs) {
        @Override
        public String toString() {
            return String.format("%5d ms to ready, stopped in %d ms", readyMs, stopMs);
        }
    }

    /** Starts {@code gateway}, waits for ready (polled every 20 ms), stops it cleanly. */
    private static Start startToReady(GatewayProcess gateway) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();
        HttpRequest ready = HttpRequest.newBuilder(URI.create(gateway.cluster().managementUrl("/q/health/ready")))
                .timeout(Duration.ofSeconds(2)).build();
        long started = System.nanoTime();
        gateway.start();
        try {
            long deadline = started + Duration.ofSeconds(120).toNanos();
            while (System.nanoTime() < deadline) {
                if (!gateway.isAlive()) {
                    throw new IllegalStateException("the gateway exited; log tail:\n" + gateway.logTail(30));
                }
                try {
                    if (http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                        long readyMs = (System.nanoTime() - started) / 1_000_000;
                        long stopping = System.nanoTime();
                        // systemd's default TimeoutStopSec: a training start writes its cache while it exits.
                        gateway.stop(Duration.ofSeconds(90));
                        return new Start(readyMs, (System.nanoTime() - stopping) / 1_000_000);
                    }
                } catch (java.io.IOException notYet) {
                    // not listening yet
                }
                Thread.sleep(20);
            }
            throw new IllegalStateException("the gateway was not ready within 120 s; log tail:\n" + gateway.logTail(30));
        } finally {
            gateway.stop();
        }
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).strip();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
