package io.isthmus.integration.support;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

/**
 * One network namespace per cluster, joined by veth pairs to a bridge in the root namespace, so that a test can
 * cut one cluster off the network (its veth goes down) and heal it, as a real partition. The test that creates
 * them removes them ({@link #close()}); names carry the test's prefix so leftovers of a crashed run are swept.
 * Needs root (CAP_NET_ADMIN); {@link #assumeAvailable()} skips or fails a test where this machine does not allow it.
 */
public final class NetworkNamespaces implements AutoCloseable {
    /** Names carry the creating JVM's PID, so concurrent runs never collide and a sweep can tell dead leftovers. */
    private static final long PID = ProcessHandle.current().pid();
    private static final String NS_PREFIX = "isth" + PID + "-";
    private static final String LINK_PREFIX = "i" + Long.toHexString(PID);
    /** Where {@code ip netns exec} finds a namespace's own resolver configuration. */
    private static final Path DNS_CONFIG = Path.of("/etc/netns");
    /** Taken while a JVM picks a free subnet for a bridge and gives the bridge its address ({@link #addBridge}). */
    private static final Path SUBNET_LOCK = Path.of(System.getProperty("java.io.tmpdir"), "isthmus-test-subnets.lock");
    private final String bridge;
    private final Map<String, String> addresses = new LinkedHashMap<>();
    private final Map<String, String> hostVeths = new LinkedHashMap<>();
    private final List<String> namespaces = new ArrayList<>();

    private NetworkNamespaces(String bridge) {
        this.bridge = bridge;
    }

    /** Set to 1 where the tests that need namespaces must run (CI: {@code .ci/run}): they fail instead of skipping. */
    public static final String REQUIRE_ENV = "ISTHMUS_REQUIRE_NETNS";

    /**
     * Skips the calling test when namespaces, veth pairs and bridges cannot be created here, or fails it when
     * {@value #REQUIRE_ENV}{@code =1}, so that the only partition proof cannot disappear silently where it must run.
     */
    public static void assumeAvailable() {
        Optional<String> why = unavailableReason();
        if (why.isPresent() && "1".equals(System.getenv(REQUIRE_ENV))) {
            throw new AssertionError("network namespaces are required here (" + REQUIRE_ENV + "=1) but cannot be"
                    + " created: " + why.get() + "; run as root (CAP_NET_ADMIN) with iproute2 installed");
        }
        Assumptions.assumeTrue(why.isEmpty(), () -> "network namespaces need root (CAP_NET_ADMIN) and iproute2: "
                + why.orElse("") + " (set " + REQUIRE_ENV + "=1 to fail instead of skipping)");
    }

    /** Whether namespaces, veth pairs and bridges can be created here (a test that can also run without them asks). */
    public static boolean available() {
        return unavailableReason().isEmpty();
    }

    /** Why namespaces, veth pairs and bridges cannot be created here (tries, then removes a probe); empty if they can. */
    static Optional<String> unavailableReason() {
        String probe = NS_PREFIX + "probe";
        try {
            run("ip", "netns", "add", probe);
            run("ip", "netns", "del", probe);
            run("ip", "link", "add", LINK_PREFIX + "p", "type", "bridge");
            run("ip", "link", "del", LINK_PREFIX + "p");
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.of(e.getMessage());
        }
    }

    /**
     * Creates a bridge with {@code 10.<n>.0.1/24} (the first {@code n} from 64 not in use here) and, per cluster, a
     * namespace with {@code 10.<n>.0.(10+i)} on its {@code eth0}.
     */
    public static NetworkNamespaces create(List<String> clusters) throws IOException {
        sweep();
        NetworkNamespaces n = new NetworkNamespaces(LINK_PREFIX + "b");
        try {
            String subnet = addBridge(n.bridge);
            run("ip", "link", "set", n.bridge, "up");
            int i = 0;
            for (String cluster : clusters) {
                String ns = NS_PREFIX + cluster;
                String host = LINK_PREFIX + "v" + i;
                String address = subnet + (10 + i++);
                run("ip", "netns", "add", ns);
                n.namespaces.add(ns);
                run("ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns);
                run("ip", "link", "set", host, "master", n.bridge);
                run("ip", "link", "set", host, "up");
                run("ip", "-n", ns, "addr", "add", address + "/24", "dev", "eth0");
                run("ip", "-n", ns, "link", "set", "eth0", "up");
                run("ip", "-n", ns, "link", "set", "lo", "up");
                n.addresses.put(cluster, address);
                n.hostVeths.put(cluster, host);
            }
            return n;
        } catch (IOException | RuntimeException e) {
            n.close();
            throw e;
        }
    }

    /**
     * Creates the bridge {@code name} with {@code 10.<n>.0.1/24}, the first {@code n} from 64 that no address here is
     * in; returns {@code "10.<n>.0."}. Test JVMs run side by side (the integration module forks two), so the look for a
     * free subnet and the address that takes it happen under a lock file every JVM on this machine takes.
     */
    static synchronized String addBridge(String name) throws IOException {
        try (FileChannel file = FileChannel.open(SUBNET_LOCK, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock = file.lock()) {
            String inUse = output("ip", "-o", "addr", "show");
            int octet = 64;
            while (inUse.contains(" 10." + octet + ".")) {
                octet++;
            }
            String subnet = "10." + octet + ".0.";
            run("ip", "link", "add", name, "type", "bridge");
            run("ip", "addr", "add", subnet + "1/24", "dev", name);
            return subnet;
        }
    }

    public String namespaceOf(String cluster) {
        return NS_PREFIX + cluster;
    }

    /** The address of the bridge in the root namespace, which every cluster reaches while connected. */
    public String bridgeAddress() {
        String any = addresses.values().iterator().next();
        return any.substring(0, any.lastIndexOf('.') + 1) + "1";
    }

    public String address(String cluster) {
        return addresses.get(cluster);
    }

    public Map<String, String> namespaces() {
        Map<String, String> m = new LinkedHashMap<>();
        addresses.keySet().forEach(c -> m.put(c, namespaceOf(c)));
        return m;
    }

    /** Cuts {@code cluster} off from every other cluster and from the root namespace. */
    public void partition(String cluster) throws IOException {
        run("ip", "link", "set", hostVeths.get(cluster), "down");
    }

    public void heal(String cluster) throws IOException {
        run("ip", "link", "set", hostVeths.get(cluster), "up");
    }

    /**
     * Drops every TCP segment to or from {@code ports} inside {@code cluster}'s namespace, both ways, with nftables:
     * a partition of just those connections (say, the registry bridge) while the rest of its traffic flows. Dropped,
     * not refused, as a cut link does: peers only notice by their failure detection.
     */
    public void dropTcp(String cluster, List<Integer> ports) throws IOException {
        String ns = namespaceOf(cluster);
        String set = ports.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(", "));
        run("ip", "netns", "exec", ns, "nft", "add", "table", "inet", "isthmus_test");
        for (String hook : List.of("input", "output")) {
            run("ip", "netns", "exec", ns, "nft", "add chain inet isthmus_test " + hook
                    + " { type filter hook " + hook + " priority 0 ; }");
            run("ip", "netns", "exec", ns, "nft", "add rule inet isthmus_test " + hook + " tcp dport { " + set
                    + " } drop");
            run("ip", "netns", "exec", ns, "nft", "add rule inet isthmus_test " + hook + " tcp sport { " + set
                    + " } drop");
        }
    }

    /** Removes what {@link #dropTcp} added in {@code cluster}'s namespace. */
    public void undropTcp(String cluster) throws IOException {
        run("ip", "netns", "exec", namespaceOf(cluster), "nft", "delete", "table", "inet", "isthmus_test");
    }

    @Override
    public void close() {
        for (String ns : namespaces) {
            killProcessesIn(ns);
            runQuietly("ip", "netns", "del", ns);
        }
        runQuietly("ip", "link", "del", bridge);
    }

    /** Removes namespaces (and what runs in them) that a crashed earlier run left behind: their JVM is gone. */
    static void sweep() throws IOException {
        for (String line : output("ip", "netns", "list").split("\n")) {
            String name = line.split(" ")[0];
            if (ofDeadRun(name)) {
                killProcessesIn(name);
                runQuietly("ip", "netns", "del", name);
            }
        }
        // A killed run's bridges and veth ends stay in the root namespace, and routes through them with them: the
        // next run's route to the same private network then failed ("File exists"). Deleting a link drops its routes.
        for (String line : output("ip", "-o", "link", "show").split("\n")) {
            String[] fields = line.split(": ");
            if (fields.length > 1) {
                String link = fields[1].split("@")[0];
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("i([0-9a-f]{3,})(b|w|p|v\\d+|l\\d+)").matcher(link);
                if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1), 16)).isEmpty()) {
                    runQuietly("ip", "link", "del", link);
                }
            }
        }
        // Resolver configurations outlive their namespace when a run was killed between the two removals.
        if (Files.isDirectory(DNS_CONFIG)) {
            try (var dirs = Files.list(DNS_CONFIG)) {
                dirs.map(d -> d.getFileName().toString()).filter(NetworkNamespaces::ofDeadRun)
                        .forEach(NetworkNamespaces::removeDnsConfig);
            }
        }
    }

    private static boolean ofDeadRun(String name) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("isth(\\d+)-.*").matcher(name);
        return m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty();
    }

    /**
     * Gives {@code ns} its own {@code resolv.conf} ({@code ip netns exec} mounts {@code /etc/netns/<ns>/resolv.conf}
     * over the host's) naming a resolver on the namespace's loopback, where nothing listens: every lookup fails at once,
     * as one answered NXDOMAIN by a pod's cluster DNS would. With the host's resolver, which a replica behind a load
     * balancer cannot reach, the load balancer's ICMP "no route" answer is rate-limited (one a second per replica), so
     * most lookups waited for the resolver's 5 s timeout; the JDK's HTTPS server looks up every client's address before
     * its TLS handshake, so bundle fetches through the load balancers timed out.
     */
    static void answerDnsAtOnce(String ns) throws IOException {
        Path dir = DNS_CONFIG.resolve(ns);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("resolv.conf"), "nameserver 127.0.0.1\n");
    }

    static void removeDnsConfig(String ns) {
        Path dir = DNS_CONFIG.resolve(ns);
        try {
            Files.deleteIfExists(dir.resolve("resolv.conf"));
            Files.deleteIfExists(dir);
        } catch (IOException ignored) {
            // best effort: cleanup of something that may already be gone
        }
    }

    static void killProcessesIn(String ns) {
        try {
            for (String pid : output("ip", "netns", "pids", ns).split("\\s+")) {
                if (!pid.isBlank() && !pid.startsWith("!")) {
                    ProcessHandle.of(Long.parseLong(pid.trim())).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // best effort
        }
    }

    static void runQuietly(String... command) {
        try {
            run(command);
        } catch (IOException | RuntimeException ignored) {
            // best effort: cleanup of something that may already be gone
        }
    }

    static void run(String... command) throws IOException {
        String out = output(command);
        if (out.startsWith("!")) {
            throw new IOException(String.join(" ", command) + " failed: " + out.substring(1).strip());
        }
    }

    static String output(String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "!timeout";
            }
            return p.exitValue() == 0 ? out : "!" + out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted running " + String.join(" ", command), e);
        }
    }
}
