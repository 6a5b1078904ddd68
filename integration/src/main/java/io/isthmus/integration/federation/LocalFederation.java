package io.isthmus.integration.federation;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

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

    private static final ObjectMapper JSON = new ObjectMapper();

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
                Duration.ofSeconds(5), LocalFederation::customize, Map.of())
                // Outside the state directory, which is wiped at every start; the cache outlives it.
                .useStartupCache(dir.toAbsolutePath().resolveSibling("jvm-cache"));
        DemoFiles demo = DemoFiles.write(federation);
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
        awaitRoutes(federation, Duration.ofSeconds(60));
        System.out.println(banner(federation, demo));
        stopped.await();
        return 0;
    }

    /**
     * Until every cluster routes each other cluster's {@code hello-<cluster>.demo} there: a gateway is healthy as soon
     * as it reaches its peers, before their exports have replicated to it, and a call typed then gets 404. After
     * {@code timeout}, says which routes are still missing instead of waiting on.
     */
    static void awaitRoutes(Federation federation, Duration timeout) throws InterruptedException {
        GatewayClient api = new GatewayClient(federation.pki().rootCertificate());
        List<ClusterSpec> clusters = federation.config().clusters();
        long deadline = System.nanoTime() + timeout.toNanos();
        for (ClusterSpec at : clusters) {
            for (ClusterSpec owner : clusters) {
                String service = "hello-" + owner.name() + ".demo.svc.clusterset.local";
                while (!routes(api, at, service, owner.name())) {
                    if (System.nanoTime() - deadline > 0) {
                        System.out.println("warning: " + at.name() + " does not route " + service + " yet (after "
                                + timeout.toSeconds() + " s); calls from " + at.name() + " to it answer 404 until "
                                + owner.name() + "'s export reaches " + at.name() + ": see "
                                + at.dir().resolve("gateway.log") + " and " + owner.dir().resolve("gateway.log"));
                        break;
                    }
                    Thread.sleep(200);
                }
            }
        }
    }

    /** Whether {@code at}'s registry routes {@code service} to {@code cluster}, as its API says. */
    static boolean routes(GatewayClient api, ClusterSpec at, String service, String cluster)
            throws InterruptedException {
        try {
            HttpResponse<String> r = api.get(at.apiUrl("/v1/services/" + service));
            if (r.statusCode() != 200) {
                return false;
            }
            for (JsonNode c : JSON.readTree(r.body()).path("routingOrder")) {
                if (c.asText().equals(cluster)) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Each cluster exports {@code hello.demo} (every cluster: locality and failover) and {@code hello-<cluster>.demo}
     * (only there: a cross-cluster call), both served by its sample service, and allows the demo client of any
     * trust domain to call them; the admin API takes a bootstrap token from a file for VM enrolment.
     */
    static void customize(ClusterSpec c, Map<String, String> p) {
        String backend = c.host() + ":" + c.ports().sample();
        for (String service : List.of("hello", "hello-" + c.name())) {
            p.put("isthmus.registry.static-exports." + service + ".namespace", "demo");
            p.put("isthmus.registry.static-exports." + service + ".ports", "http:80");
            p.put("isthmus.registry.static-exports." + service + ".identities",
                    "spiffe://" + c.trustDomain().name() + "/ns/demo/sa/hello");
            p.put("isthmus.proxy.backends.\"" + service + ".demo.svc.clusterset.local\"", backend);
        }
        p.put("isthmus.authz.policy-file", c.dir().resolve("policies.yaml").toString());
        p.put("isthmus.admin.bootstrap-token-file", c.dir().resolve("admin.token").toString());
    }

    static String banner(Federation federation, DemoFiles demo) {
        StringBuilder b = new StringBuilder();
        b.append("\nIsthmus local federation is up (DEVELOPMENT ONLY: throwaway root in ")
                .append(federation.pki().rootCertificate()).append(")\n\n");
        for (ClusterSpec c : federation.config().clusters()) {
            b.append(String.format("  %-7s %-22s egress %s:%d  ingress %s  API %s  health %s%n", c.name(),
                    c.trustDomain().name(), c.host(), c.ports().egress(), c.ingressAddress(), c.apiUrl("/"),
                    c.managementUrl("/q/health")));
        }
        List<ClusterSpec> clusters = federation.config().clusters();
        ClusterSpec from = clusters.get(0);
        ClusterSpec to = clusters.get(clusters.size() > 1 ? 1 : 0);
        String root = federation.pki().rootCertificate().toString();
        b.append("\nCall ").append(to.name()).append("'s service from ").append(from.name())
                .append(" by mesh name, as the workload spiffe://").append(from.trustDomain().name())
                .append("/ns/demo/sa/client (its SVID is in ").append(demo.dir()).append("; -k because the egress presents")
                .append(" an SVID, whose only name is a SPIFFE ID):\n");
        b.append("  curl -sk --cert ").append(demo.client(from)).append(".pem --key ").append(demo.client(from))
                .append(".key -H 'Host: hello-").append(to.name()).append(".demo.svc.clusterset.local' https://")
                .append(from.host()).append(':').append(from.ports().egress()).append("/hello\n");
        b.append("The same as spiffe://").append(from.trustDomain().name())
                .append("/ns/demo/sa/intruder is denied by ").append(to.name()).append("'s policy (403):\n");
        b.append("  curl -sk --cert ").append(demo.intruder(from)).append(".pem --key ").append(demo.intruder(from))
                .append(".key -H 'Host: hello-").append(to.name()).append(".demo.svc.clusterset.local' https://")
                .append(from.host()).append(':').append(from.ports().egress()).append("/hello\n");
        b.append("Where each service is exported, and the routing order from ").append(from.name())
                .append(" (the registry answers workloads of the federation, by their SVID, and admins):\n");
        b.append("  curl -sk --cert ").append(demo.client(from)).append(".pem --key ").append(demo.client(from))
                .append(".key ").append(from.apiUrl("/v1/services/hello.demo.svc.clusterset.local")).append('\n');
        b.append("Enrol a VM into ").append(from.name()).append(":\n");
        b.append("  bin/isthmus token create --gateway ").append(from.apiUrl("").replaceAll("/$", ""))
                .append(" --trust-domain ").append(from.trustDomain().name()).append(" --admin-token-file ").append(from.dir().resolve("admin.token")).append(" --root-ca ").append(root)
                .append(" --namespace demo --service-account vm\n");
        b.append("  bin/isthmus-agent join --gateway ").append(from.apiUrl("").replaceAll("/$", ""))
                .append(" --trust-domain ").append(from.trustDomain().name()).append(" --token <token> --root-ca ").append(root).append(" --state-dir ").append(demo.dir().resolve("vm"))
                .append(" --socket ").append(demo.dir().resolve("vm/workload.sock")).append('\n');
        b.append("\nCtrl-C stops everything.\n");
        return b.toString();
    }

    static void deleteRecursively(Path path) throws java.io.IOException {
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
