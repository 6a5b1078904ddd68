package io.isthmus.integration.federation;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One gateway as a separate operating-system process running the packaged Quarkus application, so that
 * fault tests can {@code kill -9} it and restart it on the same data directory. Optionally runs inside a
 * network namespace ({@code ip netns exec}). Not thread-safe: one owner drives its lifecycle.
 */
public final class GatewayProcess implements AutoCloseable {
    private static final Duration TRAINING_GRACE = Duration.ofSeconds(90);
    /** Where {@link #dumpThreads} writes: kept after the run, whatever the test's outcome. */
    private static final Path DUMPS = Path.of(System.getProperty("java.io.tmpdir"), "isthmus-gateway-dumps");
    private final ClusterSpec cluster;
    private final Path appJar;
    private final Map<String, String> properties;
    private final Optional<String> netns;
    private Process process;
    /** Where the JVM keeps its start-up cache ({@link JvmStartupCache}); empty: no cache. */
    private Optional<Path> startupCache = Optional.empty();
    /** The JVM command as a package runs it ({@link PackagedLaunch}); empty: the harness's own JVM and options. */
    private Optional<List<String>> packagedJvm = Optional.empty();
    /** The shared start-up cache of a test run as the running process uses it ({@link SharedStartupCache}). */
    private SharedStartupCache.Start sharedCache = SharedStartupCache.Start.NONE;
    /** The running process writes its own start-up cache ({@link JvmStartupCache}) when it exits. */
    private boolean trainsOwnCache;

    public GatewayProcess(ClusterSpec cluster, Path appJar, Map<String, String> properties, Optional<String> netns) {
        if (!Files.isRegularFile(appJar)) {
            throw new IllegalStateException("gateway application " + appJar
                    + " is missing: package it first (./mvnw -pl federation-gateway -am package -DskipTests)");
        }
        this.cluster = cluster;
        this.appJar = appJar;
        this.properties = new TreeMap<>(properties);
        this.netns = netns;
    }

    public ClusterSpec cluster() {
        return cluster;
    }

    /** The same gateway (cluster, jar, namespace, data) with {@code overrides} on top of its properties; not started. */
    public GatewayProcess reconfigured(Map<String, String> overrides) {
        Map<String, String> merged = new TreeMap<>(properties);
        merged.putAll(overrides);
        GatewayProcess next = new GatewayProcess(cluster, appJar, merged, netns);
        next.startupCache = startupCache;
        next.packagedJvm = packagedJvm;
        return next;
    }

    /**
     * From the next start on, starts the JVM from a cache of the classes earlier starts loaded, kept in
     * {@code root/<cluster>} (see {@link JvmStartupCache}); a start that finds none writes it when the gateway stops.
     */
    public synchronized GatewayProcess useStartupCache(Path root) {
        startupCache = Optional.of(root.resolve(cluster.name()));
        return this;
    }

    /**
     * From the next start on, runs the JVM the way the package does (its runtime and options), instead of this
     * harness's JVM, heap and start-up cache. The application jar must be the one this gateway was made with.
     */
    public synchronized GatewayProcess launchedAs(PackagedLaunch launch) {
        if (!launch.jar().toAbsolutePath().normalize().equals(appJar.toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("the package starts " + launch.jar() + ", this gateway is " + appJar);
        }
        packagedJvm = Optional.of(launch.jvm());
        startupCache = Optional.empty();
        return this;
    }

    /** Starts the process; its output is appended to the cluster's log file. */
    public synchronized void start() throws IOException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("gateway of " + cluster.name() + " is already running");
        }
        exited(false); // a previous process that ended on its own
        Files.createDirectories(cluster.dir());
        List<String> command = new ArrayList<>();
        netns.ifPresent(ns -> command.addAll(List.of("ip", "netns", "exec", ns)));
        if (packagedJvm.isPresent()) {
            command.addAll(packagedJvm.get());
        } else {
            String javaBin = javaBinary();
            command.add(javaBin);
            command.add("-Xmx384m");
            if (startupCache.isPresent()) {
                List<String> options = JvmStartupCache.options(Path.of(javaBin), appJar, startupCache.get());
                trainsOwnCache = JvmStartupCache.trains(options);
                command.addAll(options);
            } else {
                sharedCache = SharedStartupCache.ofThisRun().forStart(Path.of(javaBin), appJar);
                command.addAll(sharedCache.options());
            }
            command.add("-XX:TieredStopAtLevel=1");
        }
        properties.forEach((k, v) -> command.add("-D" + k + "=" + v));
        command.add("-jar");
        command.add(appJar.toString());
        Files.writeString(cluster.logFile(), "=== start " + Instant.now() + "\n",
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        try {
            process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(cluster.logFile().toFile()))
                    .start();
        } catch (IOException e) {
            exited(false);
            throw e;
        }
    }

    /** Once the process is gone: a shared cache it trained is published, or another start may train it. */
    private void exited(boolean cleanly) {
        SharedStartupCache.ofThisRun().exited(sharedCache, cleanly);
        sharedCache = SharedStartupCache.Start.NONE;
        trainsOwnCache = false;
    }

    /** Waits until {@code /q/health/ready} answers 200, or fails with the end of the gateway's log. */
    public void awaitReady(Duration timeout) throws IOException, InterruptedException {
        awaitHealth("/q/health/ready", timeout);
    }

    public void awaitHealth(String path, Duration timeout) throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        Instant deadline = Instant.now().plus(timeout);
        String last = "no answer yet";
        while (Instant.now().isBefore(deadline)) {
            if (!isAlive()) {
                throw new IllegalStateException("gateway of " + cluster.name() + " exited with "
                        + process.exitValue() + "; log tail:\n" + logTail(40));
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(cluster.managementUrl(path)))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
                last = r.statusCode() + " " + r.body();
            } catch (IOException e) {
                last = e.toString();
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("gateway of " + cluster.name() + " not healthy at " + path + " within "
                + timeout + " (last: " + last + "); log tail:\n" + logTail(40));
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    /** SIGKILL: no shutdown hooks, no goodbye to peers, as a crashed node or a lost machine. */
    public void kill() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor();
            exited(false);
        }
    }

    /** SIGTERM and wait for a graceful stop (escalates to SIGKILL after 20 s). */
    public void stop() throws InterruptedException {
        stop(Duration.ofSeconds(20));
    }

    /** SIGTERM and wait for a graceful stop, escalating to SIGKILL after {@code grace}. */
    public void stop(Duration grace) throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            // A training JVM writes its cache as it exits: about 9 s on a quiet 2-core machine, over 20 s on a busy one
            // (the quick start's first stop, bin/isthmus-local, printed "did not stop within 20 s" and thread dumps).
            boolean training = sharedCache.training().isPresent() || trainsOwnCache;
            Duration wait = training && grace.compareTo(TRAINING_GRACE) < 0 ? TRAINING_GRACE : grace;
            boolean cleanly = process.waitFor(wait.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            if (!cleanly) {
                dumpThreads("did not stop within " + wait.toSeconds() + " s of SIGTERM");
                process.destroyForcibly();
                process.waitFor();
            }
            exited(cleanly);
        } else if (process != null) {
            exited(false);
        }
    }

    /**
     * Stops {@code gateways} side by side: each gets its SIGTERM at once and waits out its own grace ({@link #stop()}).
     * One after the other, a test spent the sum of their graceful stops (1-3 s each on a loaded 2-core machine) at its
     * end. Every stop is waited for; the first failure is thrown after, the others added to it as suppressed.
     */
    public static void stopAll(Collection<GatewayProcess> gateways) {
        List<Future<?>> stops = new ArrayList<>();
        try (ExecutorService stopping = Executors.newVirtualThreadPerTaskExecutor()) {
            for (GatewayProcess g : gateways) {
                stops.add(stopping.submit(() -> {
                    g.stop();
                    return null;
                }));
            }
        }
        RuntimeException failed = null;
        for (Future<?> stop : stops) {
            try {
                stop.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException e) {
                RuntimeException cause = e.getCause() instanceof RuntimeException r ? r
                        : new IllegalStateException("stopping a gateway: " + e.getCause(), e.getCause());
                if (failed == null) {
                    failed = cause;
                } else {
                    failed.addSuppressed(cause);
                }
            }
        }
        if (failed != null) {
            throw failed;
        }
    }

    /**
     * Writes every thread of the running gateway, virtual threads included ({@code jcmd Thread.dump_to_file}), and a
     * copy of its log so far, to {@link #DUMPS} (outside the test's directory, which a test that passes deletes), and
     * says where on standard output: a gateway that hangs is gone after the SIGKILL that follows, and its log alone
     * does not say what it waited for.
     */
    private void dumpThreads(String why) throws InterruptedException {
        String prefix = cluster.dir().getParent().getFileName() + "-" + cluster.name() + "-"
                + Instant.now().toEpochMilli();
        Path file = DUMPS.resolve(prefix + "-threads.txt");
        Path jcmd = Path.of(javaBinary()).resolveSibling("jcmd");
        String outcome;
        try {
            Files.createDirectories(DUMPS);
            Process dump = new ProcessBuilder(jcmd.toString(), Long.toString(process.pid()), "Thread.dump_to_file",
                    "-format=text", file.toString()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!dump.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                dump.destroyForcibly();
            }
            if (Files.isRegularFile(cluster.logFile())) {
                Files.copy(cluster.logFile(), DUMPS.resolve(prefix + "-gateway.log"));
            }
            outcome = Files.isRegularFile(file) ? "its threads and log are in " + DUMPS + "/" + prefix + "-*"
                    : "jcmd wrote no thread dump";
        } catch (IOException e) {
            outcome = "no thread dump (" + e.getMessage() + ")";
        }
        System.out.printf("GatewayProcess: %s %s; %s%n", cluster.name(), why, outcome);
    }

    public String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(cluster.logFile());
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }

    private static String javaBinary() {
        return ProcessHandle.current().info().command()
                .filter(c -> c.endsWith("/java"))
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }
}
