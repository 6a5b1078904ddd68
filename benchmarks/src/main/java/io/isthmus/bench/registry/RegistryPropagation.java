package io.isthmus.bench.registry;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.isthmus.registry.ClusterIdentity;
import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.Locality;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.RegistryListener;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.registry.store.InfinispanRegistry;
import io.isthmus.registry.xsite.ChannelFactory;
import io.isthmus.registry.xsite.PeerSite;
import io.isthmus.registry.xsite.RegistryNode;
import io.isthmus.registry.xsite.SiteSettings;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.CaFactory;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.svid.X509SvidVerifier;

/**
 * Registry replication benchmark (a main program, not JMH: it measures one-way propagation between sites, which
 * JMH's per-invocation model does not fit). Three sites in this JVM on 127.0.0.1, each its own Infinispan cache
 * manager and local JGroups cluster, bridged by RELAY2 over TLS 1.3 with SVID mutual authentication.
 * <ol>
 * <li>Propagation: {@code updates} sequential updates of one export in A; for each, the time from the write
 * call in A to the update being applied in B and in C (registry listener), reported as p50/p90/p99/max.</li>
 * <li>Scale: A exports {@code services} services; time until B and C hold all of them, and the heap the three
 * sites hold for them (used heap after GC, before vs after).</li>
 * </ol>
 * Usage: {@code java -cp benchmarks/target/benchmarks.jar io.isthmus.bench.registry.RegistryPropagation [updates] [services]}
 */
public final class RegistryPropagation {
    private static final String[] SITES = {"cluster-a", "cluster-b", "cluster-c"};

    private RegistryPropagation() {
    }

    public static void main(String[] args) throws Exception {
        int updates = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int services = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
        Clock clock = Clock.systemUTC();
        CaFactory cas = new CaFactory(clock);
        CaCredential root = cas.createRoot("bench root", Duration.ofDays(1));
        Map<String, CaCredential> intermediates = new LinkedHashMap<>();
        List<TrustBundle> bundles = new ArrayList<>();
        for (String s : SITES) {
            CaCredential ca = cas.issueIntermediate(root, td(s), Duration.ofDays(1));
            intermediates.put(s, ca);
            bundles.add(new TrustBundle(td(s), List.of(ca.certificate()), List.of(), 1, Optional.empty()));
        }
        BundleSet bundleSet = BundleSet.of(bundles);
        X509SvidVerifier verifier = new X509SvidVerifier(FederationRoots.of(root.certificate()), bundleSet::bundleFor, clock,
                Duration.ofSeconds(30));
        Map<String, int[]> ports = new LinkedHashMap<>();
        for (String s : SITES) {
            ports.put(s, new int[] {freePort(), freePort()});
        }
        long heapBeforeStart = usedHeapAfterGc();
        List<RegistryNode> nodes = new ArrayList<>();
        List<InfinispanRegistry> registries = new ArrayList<>();
        try {
            for (String s : SITES) {
                Map<String, PeerSite> peers = new LinkedHashMap<>();
                for (String p : SITES) {
                    if (!p.equals(s)) {
                        peers.put(p, new PeerSite(p, List.of(new InetSocketAddress("127.0.0.1", ports.get(p)[1])), td(p)));
                    }
                }
                SiteSettings settings = new SiteSettings(s, td(s), "127.0.0.1", ports.get(s)[0], List.of(), ports.get(s)[1], peers);
                X509Svid svid = new SvidIssuer(clock).issue(intermediates.get(s),
                        SpiffeId.parse("spiffe://" + td(s).name() + "/ns/isthmus-system/sa/gateway"), Duration.ofHours(1));
                RegistryNode node = RegistryNode.start(settings, () -> svid, verifier, ChannelFactory.Timing.DEFAULT);
                nodes.add(node);
                // Signed and verified as in a gateway, so the numbers include signing and verification.
                Map<String, io.isthmus.registry.signing.OwnerTrust> owners = new LinkedHashMap<>();
                for (String o : SITES) {
                    owners.put(o, new io.isthmus.registry.signing.OwnerTrust(o, td(o), java.util.Set.of(
                            SpiffeId.parse("spiffe://" + td(o).name() + "/ns/isthmus-system/sa/gateway"))));
                }
                registries.add(new InfinispanRegistry(node.registryCache(), new ClusterIdentity(s,
                        new IngressAddress(s + ".gw.example", 15443), Locality.UNKNOWN, Duration.ofSeconds(30),
                        MeshName.DEFAULT_SUFFIX), clock,
                        new io.isthmus.registry.signing.SvidEntryTrust(() -> svid, verifier, clock, owners)));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (nodes.stream().anyMatch(n -> n.sitesView().size() < SITES.length)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("bridges did not form within 60 s: "
                            + nodes.stream().map(RegistryNode::sitesView).toList());
                }
                Thread.sleep(50);
            }
            System.out.printf("sites connected: %s%n", nodes.get(0).sitesView());
            long heapEmpty = usedHeapAfterGc();
            System.out.printf("heap of 3 idle sites: %.1f MiB%n", (heapEmpty - heapBeforeStart) / 1048576.0);
            propagation(registries, updates);
            scale(registries, services, heapEmpty, nodes.get(0).registryCache());
        } finally {
            registries.forEach(InfinispanRegistry::close);
            nodes.reversed().forEach(RegistryNode::close);
        }
    }

    private static void propagation(List<InfinispanRegistry> r, int updates) throws Exception {
        ServiceKey key = new ServiceKey("cluster-a", "bench", "latency");
        Map<Integer, CompletableFuture<Long>> atB = new ConcurrentHashMap<>();
        Map<Integer, CompletableFuture<Long>> atC = new ConcurrentHashMap<>();
        r.get(1).addListener(arrivals(key, atB));
        r.get(2).addListener(arrivals(key, atC));
        int warmup = Math.max(50, updates / 10);
        long[] toB = new long[updates];
        long[] toC = new long[updates];
        long[] toBoth = new long[updates];
        for (int i = 1; i <= warmup + updates; i++) {
            CompletableFuture<Long> b = atB.computeIfAbsent(i, k -> new CompletableFuture<>());
            CompletableFuture<Long> c = atC.computeIfAbsent(i, k -> new CompletableFuture<>());
            long t0 = System.nanoTime();
            r.get(0).export(spec(key, i));
            long tb = b.get(10, TimeUnit.SECONDS) - t0;
            long tc = c.get(10, TimeUnit.SECONDS) - t0;
            atB.remove(i);
            atC.remove(i);
            if (i > warmup) {
                toB[i - warmup - 1] = tb;
                toC[i - warmup - 1] = tc;
                toBoth[i - warmup - 1] = Math.max(tb, tc);
            }
        }
        System.out.printf("propagation over %d sequential updates (after %d warm-up), write in A -> applied in:%n", updates, warmup);
        report("  B", toB);
        report("  C", toC);
        report("  both", toBoth);
    }

    private static RegistryListener arrivals(ServiceKey key, Map<Integer, CompletableFuture<Long>> futures) {
        return new RegistryListener() {
            @Override
            public void exported(ExportedService current, ExportedService previous) {
                if (current.key().equals(key)) {
                    long now = System.nanoTime();
                    futures.computeIfAbsent(current.readyEndpoints(), k -> new CompletableFuture<>()).complete(now);
                }
            }

            @Override
            public void unexported(ExportedService previous) {
            }
        };
    }

    private static void scale(List<InfinispanRegistry> r, int services, long heapEmpty,
            org.infinispan.Cache<String, String> cacheOfA) throws Exception {
        CountDownLatch atB = new CountDownLatch(services);
        CountDownLatch atC = new CountDownLatch(services);
        r.get(1).addListener(counting("scale", atB));
        r.get(2).addListener(counting("scale", atC));
        long t0 = System.nanoTime();
        for (int i = 0; i < services; i++) {
            r.get(0).export(spec(new ServiceKey("cluster-a", "scale", "svc-" + i), 1 + i % 5));
        }
        long written = System.nanoTime() - t0;
        if (!atB.await(300, TimeUnit.SECONDS) || !atC.await(300, TimeUnit.SECONDS)) {
            throw new IllegalStateException("not replicated within 300 s: B missing " + atB.getCount() + ", C missing " + atC.getCount());
        }
        long replicated = System.nanoTime() - t0;
        long heapFull = usedHeapAfterGc();
        System.out.printf("%d services exported in A: written in %.2f s (%.0f/s), in B and C after %.2f s%n", services,
                written / 1e9, services / (written / 1e9), replicated / 1e9);
        System.out.printf("heap for %d services on 3 sites (cache JSON + decoded index, 3 copies): %.1f MiB, about %.0f bytes "
                + "per service per site%n", services, (heapFull - heapEmpty) / 1048576.0,
                (heapFull - heapEmpty) / 3.0 / services);
        io.isthmus.registry.ExportedService sample = r.get(1).list(io.isthmus.registry.RegistryQuery.cluster("cluster-a")).get(0);
        System.out.printf("entry JSON size: %d bytes; as stored and replicated (signed envelope with the signer's leaf): %d"
                + " bytes%n", io.isthmus.registry.store.EntryCodec.encode(sample).length(),
                cacheOfA.get(io.isthmus.registry.store.EntryCodec.key(sample.key())).length());
    }

    private static RegistryListener counting(String namespace, CountDownLatch latch) {
        return new RegistryListener() {
            @Override
            public void exported(ExportedService current, ExportedService previous) {
                if (previous == null && current.key().namespace().equals(namespace)) {
                    latch.countDown();
                }
            }

            @Override
            public void unexported(ExportedService previous) {
            }
        };
    }

    private static ExportSpec spec(ServiceKey key, int ready) {
        return new ExportSpec(key, List.of(new ServicePort("http", 8080, Protocol.HTTP), new ServicePort("grpc", 9090, Protocol.GRPC)),
                List.of(SpiffeId.parse("spiffe://cluster-a.acme.internal/ns/" + key.namespace() + "/sa/" + key.name())), ready);
    }

    private static void report(String label, long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        System.out.printf("%s: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms%n", label, pct(s, 50), pct(s, 90), pct(s, 99),
                s[s.length - 1] / 1e6);
    }

    private static double pct(long[] sorted, double p) {
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))] / 1e6;
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static TrustDomain td(String site) {
        return new TrustDomain(site + ".acme.internal");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
