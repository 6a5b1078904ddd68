package io.isthmus.integration.support;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Clusters that reach each other only through load balancers, as Kubernetes clusters in two clouds and on-prem do.
 * A "public" bridge in the root namespace carries {@code 10.<n>.0.0/24} ({@code n = 64+k}, free when the run
 * starts); per cluster:
 * <ul>
 * <li>a load-balancer namespace {@code isth<pid>-<cluster>-lb} with {@code 10.<n>.0.(10+i)} on the public bridge
 * and {@code 172.<16+k>.(i+1).1/24} on a private bridge of its own. It forwards each public port it is given to the
 * replicas in turn (iptables DNAT, every second new connection to the next replica, as kube-proxy spreads a
 * Service's connections), and masquerades the replicas' outgoing connections (the nodes' NAT);</li>
 * <li>one namespace per replica, {@code isth<pid>-<cluster>-r<k>}, with {@code 172.<16+k>.(i+1).(10+r)} on the private
 * bridge and its default route via the load balancer.</li>
 * </ul>
 * Every namespace has a DNS resolver that answers at once, as a pod's cluster DNS does
 * ({@link NetworkNamespaces#answerDnsAtOnce}): the host's resolver is unreachable from a replica, and a lookup there
 * took 5 s whenever its load balancer's "no route" (ICMP, rate-limited) was held back.
 * No load balancer routes to another cluster's private network, so a pod address given to another cluster is
 * unreachable there; only the public addresses are. The root namespace (the test) routes to every private network
 * through its load balancer, to watch each replica. Needs root and iptables; the test that creates it removes it
 * ({@link #close()}), and names carry the JVM's PID so {@link NetworkNamespaces} sweeps a crashed run's leftovers.
 */
public final class LoadBalancedNetwork implements AutoCloseable {
    private static final long PID = ProcessHandle.current().pid();
    private static final String NS_PREFIX = "isth" + PID + "-";
    private static final String LINK_PREFIX = "i" + Long.toHexString(PID);

    private final String publicBridge = LINK_PREFIX + "w";
    private String subnet;
    private final List<String> namespaces = new ArrayList<>();
    private final List<String> rootRoutes = new ArrayList<>();
    private final Map<String, Cluster> clusters = new LinkedHashMap<>();

    /** One cluster: its load balancer's public address and namespace, and its replicas' private addresses. */
    public record Cluster(String name, String publicAddress, String privateGateway, String loadBalancerNamespace,
            List<String> replicaAddresses, List<String> replicaNamespaces) {
    }

    private LoadBalancedNetwork() {
    }

    /** Whether iptables is installed (the load balancers are DNAT rules). */
    public static boolean iptablesAvailable() {
        try {
            NetworkNamespaces.run("iptables", "--version");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Creates the network; each load balancer forwards {@code publicPorts} (the same port on the replicas).
     *
     * @param replicas replicas per cluster
     */
    public static LoadBalancedNetwork create(List<String> names, int replicas, List<Integer> publicPorts) throws IOException {
        NetworkNamespaces.sweep();
        LoadBalancedNetwork n = new LoadBalancedNetwork();
        try {
            n.subnet = NetworkNamespaces.addBridge(n.publicBridge);
            NetworkNamespaces.run("ip", "link", "set", n.publicBridge, "up");
            for (int i = 0; i < names.size(); i++) {
                n.addCluster(i, names.get(i), replicas, publicPorts);
            }
            return n;
        } catch (IOException | RuntimeException e) {
            n.close();
            throw e;
        }
    }

    private void addCluster(int i, String name, int replicas, List<Integer> publicPorts) throws IOException {
        String lb = namespace(name + "-lb");
        String publicAddress = subnet + (10 + i);
        String privateNet = privateNetwork(subnet, i);
        String hostEnd = LINK_PREFIX + "l" + i;
        run("ip", "link", "add", hostEnd, "type", "veth", "peer", "name", "wan", "netns", lb);
        run("ip", "link", "set", hostEnd, "master", publicBridge);
        run("ip", "link", "set", hostEnd, "up");
        inNs(lb, "ip", "addr", "add", publicAddress + "/24", "dev", "wan");
        inNs(lb, "ip", "link", "set", "wan", "up");
        inNs(lb, "ip", "link", "set", "lo", "up");
        inNs(lb, "ip", "link", "add", "priv", "type", "bridge");
        inNs(lb, "ip", "addr", "add", privateNet + "1/24", "dev", "priv");
        inNs(lb, "ip", "link", "set", "priv", "up");
        inNs(lb, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        List<String> addresses = new ArrayList<>();
        List<String> replicaNamespaces = new ArrayList<>();
        for (int k = 0; k < replicas; k++) {
            String replica = namespace(name + "-r" + k);
            String address = privateNet + (10 + k);
            inNs(lb, "ip", "link", "add", "p" + k, "type", "veth", "peer", "name", "eth0", "netns", replica);
            inNs(lb, "ip", "link", "set", "p" + k, "master", "priv");
            inNs(lb, "ip", "link", "set", "p" + k, "up");
            inNs(replica, "ip", "addr", "add", address + "/24", "dev", "eth0");
            inNs(replica, "ip", "link", "set", "eth0", "up");
            inNs(replica, "ip", "link", "set", "lo", "up");
            inNs(replica, "ip", "route", "add", "default", "via", privateNet + "1");
            addresses.add(address);
            replicaNamespaces.add(replica);
        }
        // The nodes' NAT: replicas leave through the load balancer's public address.
        inNs(lb, "iptables", "-t", "nat", "-A", "POSTROUTING", "-s", privateNet + "0/24", "-o", "wan", "-j", "MASQUERADE");
        // The Service: new connections to a public port go to each replica in turn (nat only sees a connection's
        // first packet; the nth rule takes every replicas-th one, the next rules the rest).
        for (int port : publicPorts) {
            for (int k = 0; k < replicas; k++) {
                // Only connections to the public address: the test reaches each replica at its own address through
                // the same interface, and those must not be balanced.
                List<String> rule = new ArrayList<>(List.of("iptables", "-t", "nat", "-A", "PREROUTING", "-i", "wan",
                        "-d", publicAddress, "-p", "tcp", "--dport", Integer.toString(port)));
                if (k < replicas - 1) {
                    rule.addAll(List.of("-m", "statistic", "--mode", "nth", "--every", Integer.toString(replicas - k),
                            "--packet", "0"));
                }
                rule.addAll(List.of("-j", "DNAT", "--to-destination", addresses.get(k) + ":" + port));
                inNs(lb, rule.toArray(String[]::new));
            }
        }
        // The test watches every replica; the other clusters cannot (their load balancers have no such route).
        run("ip", "route", "add", privateNet + "0/24", "via", publicAddress);
        rootRoutes.add(privateNet + "0/24");
        clusters.put(name, new Cluster(name, publicAddress, privateNet + "1", lb, List.copyOf(addresses),
                List.copyOf(replicaNamespaces)));
    }

    /**
     * Cluster {@code i}'s private network, {@code 172.<16+k>.<i+1>.0/24} for the public subnet {@code 10.<64+k>.0.0/24}
     * this run took: the integration module runs two test JVMs side by side, and the test's route to each private
     * network lives in the shared root namespace, so two runs with the same private networks collided there ("File
     * exists"). The public subnet is unique per live run ({@link NetworkNamespaces#addBridge}), so this is too.
     */
    static String privateNetwork(String publicSubnet, int i) {
        int k = Integer.parseInt(publicSubnet.split("\\.")[1]) - 64;
        if (k < 0 || k > 15) {
            throw new IllegalStateException("public subnet " + publicSubnet + "0/24 leaves no private network in "
                    + "172.16.0.0/12: too many networks of test runs on this machine");
        }
        return "172." + (16 + k) + "." + (i + 1) + ".";
    }

    private String namespace(String suffix) throws IOException {
        String ns = NS_PREFIX + suffix;
        run("ip", "netns", "add", ns);
        namespaces.add(ns);
        NetworkNamespaces.answerDnsAtOnce(ns);
        return ns;
    }

    /**
     * The properties that place a gateway replica on this network, as a pod of a StatefulSet: it binds every listener
     * on its own address, finds the cluster's other replicas at theirs, and tells peers the load balancer's address.
     *
     * @param replica its address is one of {@code cluster}'s replica addresses
     */
    public static Map<String, String> replicaProperties(io.isthmus.integration.federation.ClusterSpec replica,
            Cluster cluster) {
        String host = replica.host();
        Map<String, String> p = new LinkedHashMap<>();
        p.put("isthmus.data-dir", replica.dataDir().toString());
        p.put("isthmus.bundle-endpoint.host", host);
        p.put("quarkus.http.host", host);
        p.put("quarkus.management.host", host);
        p.put("isthmus.proxy.ingress.host", host);
        p.put("isthmus.proxy.egress.host", host);
        p.put("isthmus.registry.bind-host", host);
        p.put("isthmus.registry.local-members", String.join(",",
                cluster.replicaAddresses().stream().map(a -> a + ":" + replica.ports().local()).toList()));
        p.put("isthmus.registry.advertised-bridge-address", cluster.publicAddress() + ":" + replica.ports().xsite());
        return p;
    }

    public Cluster cluster(String name) {
        Cluster c = clusters.get(name);
        if (c == null) {
            throw new IllegalArgumentException("no cluster named " + name);
        }
        return c;
    }

    /** The root namespace's address on the public bridge (where the test's own servers listen). */
    public String rootAddress() {
        return subnet + "1";
    }

    /**
     * How long a reverse DNS lookup of {@code address} takes inside {@code namespace} (the lookup the JDK's HTTPS server
     * makes of every client before its TLS handshake); whether it finds a name does not matter here.
     */
    public static Duration reverseLookupTime(String namespace, String address) throws IOException {
        long start = System.nanoTime();
        NetworkNamespaces.output("ip", "netns", "exec", namespace, "getent", "hosts", address);
        return Duration.ofNanos(System.nanoTime() - start);
    }

    /** Runs {@code command} inside {@code namespace}; returns its output, or throws with it when it fails. */
    public static String inNs(String namespace, String... command) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        full.addAll(List.of(command));
        String out = NetworkNamespaces.output(full.toArray(String[]::new));
        if (out.startsWith("!")) {
            throw new IOException(String.join(" ", full) + " failed: " + out.substring(1).strip());
        }
        return out;
    }

    private static void run(String... command) throws IOException {
        NetworkNamespaces.run(command);
    }

    @Override
    public void close() {
        for (String route : rootRoutes) {
            NetworkNamespaces.runQuietly("ip", "route", "del", route);
        }
        for (String ns : namespaces) {
            NetworkNamespaces.killProcessesIn(ns);
        }
        for (String ns : namespaces) {
            NetworkNamespaces.runQuietly("ip", "netns", "del", ns);
            NetworkNamespaces.removeDnsConfig(ns);
        }
        NetworkNamespaces.runQuietly("ip", "link", "del", publicBridge);
    }
}
