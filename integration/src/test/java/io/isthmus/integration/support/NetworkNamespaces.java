package io.isthmus.integration.support;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One network namespace per cluster, joined by veth pairs to a bridge in the root namespace, so that a test can
 * cut one cluster off the network (its veth goes down) and heal it, as a real partition. The test that creates
 * them removes them ({@link #close()}); names carry the test's prefix so leftovers of a crashed run are swept.
 * Needs root (CAP_NET_ADMIN); {@link #available()} tells whether this machine allows it.
 */
public final class NetworkNamespaces implements AutoCloseable {
    private static final String PREFIX = "isth";
    private final String bridge;
    private final String subnet;
    private final Map<String, String> addresses = new LinkedHashMap<>();
    private final List<String> namespaces = new ArrayList<>();

    private NetworkNamespaces(String bridge, String subnet) {
        this.bridge = bridge;
        this.subnet = subnet;
    }

    /** Whether namespaces, veth pairs and bridges can be created here (tries, then removes a probe). */
    public static boolean available() {
        String probe = PREFIX + "-probe";
        try {
            run("ip", "netns", "add", probe);
            run("ip", "netns", "del", probe);
            run("ip", "link", "add", probe + "b", "type", "bridge");
            run("ip", "link", "del", probe + "b");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Creates a bridge with {@code 10.<octet>.0.1/24} and, per cluster, a namespace {@code isth-<cluster>} with
     * {@code 10.<octet>.0.(10+i)} on its {@code eth0}.
     */
    public static NetworkNamespaces create(int octet, List<String> clusters) throws IOException {
        sweep();
        String subnet = "10." + octet + ".0.";
        NetworkNamespaces n = new NetworkNamespaces(PREFIX + "-br" + octet, subnet);
        try {
            run("ip", "link", "add", n.bridge, "type", "bridge");
            run("ip", "addr", "add", subnet + "1/24", "dev", n.bridge);
            run("ip", "link", "set", n.bridge, "up");
            int i = 0;
            for (String cluster : clusters) {
                String ns = namespaceOf(cluster);
                String host = hostVeth(cluster);
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
            }
            return n;
        } catch (IOException | RuntimeException e) {
            n.close();
            throw e;
        }
    }

    public static String namespaceOf(String cluster) {
        return PREFIX + "-" + cluster;
    }

    private static String hostVeth(String cluster) {
        return PREFIX + "-" + cluster + "-h";
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
        run("ip", "link", "set", hostVeth(cluster), "down");
    }

    public void heal(String cluster) throws IOException {
        run("ip", "link", "set", hostVeth(cluster), "up");
    }

    @Override
    public void close() {
        for (String ns : namespaces) {
            runQuietly("ip", "netns", "del", ns);
        }
        runQuietly("ip", "link", "del", bridge);
    }

    /** Removes namespaces and bridges a crashed earlier run left behind. */
    private static void sweep() throws IOException {
        for (String line : output("ip", "netns", "list").split("\n")) {
            String name = line.split(" ")[0];
            if (name.startsWith(PREFIX + "-")) {
                runQuietly("ip", "netns", "del", name);
            }
        }
        for (String line : output("ip", "-o", "link", "show", "type", "bridge").split("\n")) {
            String[] parts = line.split(": ");
            if (parts.length > 1 && parts[1].startsWith(PREFIX + "-br")) {
                runQuietly("ip", "link", "del", parts[1].split("@")[0]);
            }
        }
    }

    private static void runQuietly(String... command) {
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

    private static String output(String... command) throws IOException {
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
