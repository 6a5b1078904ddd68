package io.isthmus.integration.federation;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import io.isthmus.trust.spiffe.TrustDomain;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The README's main command: a local federation of N clusters on loopback, each a separate gateway process with
 * its own trust domain under one throwaway development root, a sample service exported in each, and the commands
 * to try it printed. Ctrl-C stops everything it started.
 */
@Command(name = "isthmus-local", mixinStandardHelpOptions = true,
        description = "Starts a local Isthmus federation: N gateway processes on loopback (development only).")
public final class LocalFederation implements Callable<Integer> {

    @Option(names = "--clusters", defaultValue = "3", description = "Number of clusters (1-9), default ${DEFAULT-VALUE}.")
    int count;

    @Option(names = "--base-port", defaultValue = "21000",
            description = "Cluster i listens on base + 100*i + {1 egress, 12 API, 43 ingress... see README}; default ${DEFAULT-VALUE}.")
    int basePort;

    @Option(names = "--dir", defaultValue = ".isthmus/federation", description = "State directory (wiped at start).")
    Path dir;

    @Option(names = "--app", defaultValue = "federation-gateway/target/quarkus-app/quarkus-run.jar",
            description = "The packaged gateway.")
    Path app;

    static final String[] NAMES = {"east", "west", "onprem", "delta", "echo", "fox", "golf", "hotel", "india"};

    public static void main(String[] args) {
        System.exit(new CommandLine(new LocalFederation()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (count < 1 || count > NAMES.length) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--clusters must be 1.." + NAMES.length);
        }
        deleteRecursively(dir);
        List<ClusterSpec> clusters = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            clusters.add(new ClusterSpec(NAMES[i], TrustDomain.parse(NAMES[i] + ".isthmus.local"), "127.0.0.1",
                    ClusterSpec.Ports.fromBase(basePort + 100 * i), dir.toAbsolutePath().resolve(NAMES[i])));
        }
        List<SampleService> samples = new ArrayList<>();
        Federation federation = Federation.prepare(dir.toAbsolutePath(), app.toAbsolutePath(), clusters,
                Duration.ofSeconds(5), LocalFederation::customize, Map.of());
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("\nstopping the federation...");
            samples.forEach(SampleService::close);
            federation.close();
            stopped.countDown();
        }, "isthmus-local-shutdown"));
        for (ClusterSpec c : clusters) {
            samples.add(SampleService.start(c.host(), c.ports().sample(), c.name(), "hello"));
        }
        System.out.println("starting " + count + " gateways (logs in " + dir.toAbsolutePath() + "/<cluster>/gateway.log)...");
        federation.start(Duration.ofSeconds(120));
        for (ClusterSpec c : clusters) {
            federation.gateway(c.name()).awaitHealth("/q/health/group/peers", Duration.ofSeconds(60));
        }
        System.out.println(banner(federation));
        stopped.await();
        return 0;
    }

    /** Feature keys of a launched cluster beyond the trust plane. */
    static void customize(ClusterSpec cluster, Map<String, String> properties) {
        properties.putAll(new LinkedHashMap<>(Map.of()));
    }

    static String banner(Federation federation) {
        StringBuilder b = new StringBuilder();
        b.append("\nIsthmus local federation is up (DEVELOPMENT ONLY: throwaway root in ")
                .append(federation.pki().rootCertificate()).append(")\n\n");
        for (ClusterSpec c : federation.config().clusters()) {
            b.append(String.format("  %-7s %-22s bundle %s  health %s  API %s%n", c.name(), c.trustDomain().name(),
                    c.bundleEndpointUrl(), c.managementUrl("/q/health"), c.apiUrl("/v1/bundles")));
        }
        ClusterSpec first = federation.config().clusters().get(0);
        b.append("\nTry:\n");
        b.append("  curl -s ").append(first.apiUrl("/v1/bundles")).append('\n');
        b.append("  curl -s ").append(first.managementUrl("/q/health/group/peers")).append('\n');
        b.append("\nCtrl-C stops everything.\n");
        return b.toString();
    }

    private static void deleteRecursively(Path path) throws java.io.IOException {
        if (!Files.exists(path)) {
            return;
        }
        try (var walk = Files.walk(path)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
