package io.isthmus.bench.registry;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.infinispan.factories.GlobalComponentRegistry;
import org.infinispan.remoting.transport.Transport;
import org.infinispan.remoting.transport.jgroups.JGroupsTransport;
import org.jgroups.JChannel;
import org.jgroups.protocols.TP;
import org.jgroups.protocols.relay.RELAY;

import io.isthmus.registry.ClusterIdentity;
import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.LeaseKeeper;
import io.isthmus.registry.Locality;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.RegistryListener;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.registry.signing.OwnerTrust;
import io.isthmus.registry.signing.SvidEntryTrust;
import io.isthmus.registry.store.EntryCodec;
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
 * Registry replication at scale (a main program, not JMH: it measures one-way propagation between sites under load,
 * which JMH's per-invocation model does not fit). {@code --sites} sites in this JVM on 127.0.0.1, each its own
 * Infinispan cache manager and local JGroups cluster, bridged by RELAY2 over TLS 1.3 with SVID mutual authentication;
 * every record signed and verified as in a gateway.
 * <ol>
 * <li>Load: {@code --services} services, spread evenly over the sites, each exported by its own site; the time until
 * every site holds all of them, and the heap they take (used heap after GC, before vs after) per service per site.</li>
 * <li>Churn: for {@code --duration}, the owners update random services of their own at {@code --churn} updates/s in
 * total (each update a content change), while every site heartbeats its own exports every {@code --heartbeat} as
 * a gateway does (0 turns that off). Propagation is the time from the update's <em>scheduled</em> instant (so a writer
 * that falls behind counts against it) to its arrival at each other site's registry listener, after the first
 * {@code --warmup}. Bridge bytes are the bridge transports' own JGroups counters (the bytes of the messages written
 * to the bridge sockets, before TLS framing), summed over all sites, per update issued.</li>
 * </ol>
 * The run is bounded: bridges must form within 120 s, the load must replicate within {@code --load-timeout}, arrivals
 * are awaited 30 s after the churn stops, and a watchdog ends the process if the whole run overruns its budget.
 * <p>Usage: {@code java -Xmx1g -cp benchmarks/target/benchmarks.jar io.isthmus.bench.registry.RegistryPropagation
 * --sites 3 --services 10000 --churn 1000 --duration 30 [--heartbeat 10] [--warmup 5] [--load-timeout 300]
 * [--label text] [--out results.txt] [--timeline timeline.txt]} (durations in seconds; the timeline says when the
 * slow updates happen, next to the heartbeat rounds, in JVM uptime to line up with {@code -Xlog:gc}).
 */
public final class RegistryPropagation {
    private static final String NAMESPACE = "scale";

    private RegistryPropagation() {
    }

    record Options(int sites, int services, int churn, int durationSeconds, int heartbeatSeconds, int warmupSeconds,
            int loadTimeoutSeconds, String label, Optional<Path> out, Optional<Path> timeline) {
        static Options parse(String[] args) {
            Map<String, String> o = new LinkedHashMap<>(Map.of("sites", "3", "services", "10000", "churn", "1000",
                    "duration", "30", "heartbeat", "10", "warmup", "5", "load-timeout", "300", "label", ""));
            String out = null;
            String timeline = null;
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (!a.startsWith("--") || i + 1 >= args.length) {
                    throw new IllegalArgumentException("expected --name value pairs, got '" + a + "'; options: "
                            + o.keySet() + ", out, timeline");
                }
                String name = a.substring(2);
                if (name.equals("out")) {
                    out = args[++i];
                } else if (name.equals("timeline")) {
                    timeline = args[++i];
                } else if (o.containsKey(name)) {
                    o.put(name, args[++i]);
                } else {
                    throw new IllegalArgumentException("unknown option '" + a + "'; options: " + o.keySet() + ", out, timeline");
                }
            }
            Options parsed = new Options(Integer.parseInt(o.get("sites")), Integer.parseInt(o.get("services")),
                    Integer.parseInt(o.get("churn")), Integer.parseInt(o.get("duration")),
                    Integer.parseInt(o.get("heartbeat")), Integer.parseInt(o.get("warmup")),
                    Integer.parseInt(o.get("load-timeout")), o.get("label"), Optional.ofNullable(out).map(Path::of),
                    Optional.ofNullable(timeline).map(Path::of));
            if (parsed.sites < 2 || parsed.sites > 26) {
                throw new IllegalArgumentException("--sites must be 2..26, got " + parsed.sites);
            }
            if (parsed.services < parsed.sites || parsed.churn < 0 || parsed.durationSeconds < 1
                    || parsed.warmupSeconds >= parsed.durationSeconds) {
                throw new IllegalArgumentException("need --services >= --sites, --churn >= 0, --duration >= 1 and "
                        + "--warmup < --duration; got " + parsed);
            }
            return parsed;
        }
    }

    public static void main(String[] args) throws Exception {
        Options opt = Options.parse(args);
        long budget = 120 + opt.loadTimeoutSeconds + opt.durationSeconds + 30 + 120;
        Thread watchdog = Thread.ofPlatform().daemon().name("bench-watchdog").start(() -> {
            try {
                Thread.sleep(TimeUnit.SECONDS.toMillis(budget));
                System.err.printf("RegistryPropagation: the run overran its budget of %d s; stopping%n", budget);
                Runtime.getRuntime().halt(2);
            } catch (InterruptedException e) {
                // finished in time
            }
        });
        int status = 0;
        try {
            run(opt);
        } catch (Exception | OutOfMemoryError e) {
            System.err.println("RegistryPropagation failed: " + e);
            status = 1;
        } finally {
            watchdog.interrupt();
        }
        System.exit(status);
    }

    private static void run(Options opt) throws Exception {
        List<String> sites = new ArrayList<>();
        for (int i = 0; i < opt.sites; i++) {
            sites.add("cluster-" + (char) ('a' + i));
        }
        Clock clock = Clock.systemUTC();
        CaFactory cas = new CaFactory(clock);
        CaCredential root = cas.createRoot("bench root", Duration.ofDays(1));
        Map<String, CaCredential> intermediates = new LinkedHashMap<>();
        List<TrustBundle> bundles = new ArrayList<>();
        for (String s : sites) {
            CaCredential ca = cas.issueIntermediate(root, td(s), Duration.ofDays(1));
            intermediates.put(s, ca);
            bundles.add(new TrustBundle(td(s), List.of(ca.certificate()), List.of(), 1, Optional.empty()));
        }
        BundleSet bundleSet = BundleSet.of(bundles);
        X509SvidVerifier verifier = new X509SvidVerifier(FederationRoots.of(root.certificate()), bundleSet::bundleFor,
                clock, Duration.ofSeconds(30));
        Map<String, OwnerTrust> owners = new LinkedHashMap<>();
        for (String o : sites) {
            owners.put(o, new OwnerTrust(o, td(o), Set.of(gateway(o))));
        }
        Map<String, int[]> ports = new LinkedHashMap<>();
        for (String s : sites) {
            ports.put(s, new int[] {freePort(), freePort()});
        }
        double load = loadAverage();
        long heapBeforeStart = usedHeapAfterGc();
        List<RegistryNode> nodes = new ArrayList<>();
        List<InfinispanRegistry> registries = new ArrayList<>();
        List<LeaseKeeper> keepers = new ArrayList<>();
        StringBuilder report = new StringBuilder();
        try {
            for (String s : sites) {
                Map<String, PeerSite> peers = new LinkedHashMap<>();
                for (String p : sites) {
                    if (!p.equals(s)) {
                        peers.put(p, new PeerSite(p, List.of(new InetSocketAddress("127.0.0.1", ports.get(p)[1])), td(p)));
                    }
                }
                SiteSettings settings = new SiteSettings(s, td(s), "127.0.0.1", ports.get(s)[0], List.of(), ports.get(s)[1],
                        peers);
                X509Svid svid = new SvidIssuer(clock).issue(intermediates.get(s), gateway(s), Duration.ofHours(1));
                RegistryNode node = RegistryNode.start(settings, () -> svid, verifier,
                        id -> sites.stream().anyMatch(site -> gateway(site).equals(id)),
                        ChannelFactory.Timing.DEFAULT);
                nodes.add(node);
                registries.add(new InfinispanRegistry(node.registryCache(), new ClusterIdentity(s,
                        new IngressAddress(s + ".gw.example", 15443), Locality.UNKNOWN, Duration.ofSeconds(30),
                        MeshName.DEFAULT_SUFFIX), clock, new SvidEntryTrust(() -> svid, verifier, clock, owners)));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (nodes.stream().anyMatch(n -> n.sitesView().size() < sites.size())) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("bridges did not form within 120 s: "
                            + nodes.stream().map(RegistryNode::sitesView).toList());
                }
                Thread.sleep(50);
            }
            List<TP> bridges = bridgeTransports(nodes, sites);
            long heapEmpty = usedHeapAfterGc();
            line(report, "RegistryPropagation %s: %d sites x %d services, churn %d updates/s for %d s (warm-up %d s), "
                    + "heartbeat %s; java %s, -Xmx %d MiB, %d CPUs; load average at start %.2f", opt.label, opt.sites,
                    opt.services, opt.churn, opt.durationSeconds, opt.warmupSeconds,
                    opt.heartbeatSeconds == 0 ? "off" : opt.heartbeatSeconds + " s", System.getProperty("java.version"),
                    Runtime.getRuntime().maxMemory() >> 20, Runtime.getRuntime().availableProcessors(), load);
            line(report, "heap of %d idle sites: %.1f MiB", sites.size(), (heapEmpty - heapBeforeStart) / 1048576.0);

            Map<String, List<ServiceKey>> own = loadPhase(opt, sites, registries,
                    nodes.stream().map(RegistryNode::registryCache).toList(), heapEmpty, bridges, report);
            Timeline timeline = new Timeline();
            if (opt.heartbeatSeconds > 0) {
                for (int i = 0; i < registries.size(); i++) {
                    LeaseKeeper k = new LeaseKeeper(registries.get(i), clock);
                    keepers.add(k);
                    String site = sites.get(i);
                    // LeaseKeeper.start's schedule (fixed delay), with each round timed for the timeline.
                    Thread.ofPlatform().daemon().name("bench-heartbeat-" + site).start(() -> {
                        try {
                            while (true) {
                                Thread.sleep(TimeUnit.SECONDS.toMillis(opt.heartbeatSeconds));
                                long t0 = System.nanoTime();
                                k.tick();
                                timeline.round(site, t0, System.nanoTime());
                            }
                        } catch (InterruptedException | RuntimeException stopped) {
                            // the run ended (the registry closed under the round)
                        }
                    });
                }
            }
            churnPhase(opt, sites, registries, own, bridges, report, timeline);
            line(report, "load average at end %.2f", loadAverage());
        } finally {
            keepers.forEach(LeaseKeeper::close);
            Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("bench-heartbeat-"))
                    .forEach(Thread::interrupt);
            registries.forEach(InfinispanRegistry::close);
            nodes.reversed().forEach(RegistryNode::close);
        }
        if (opt.out.isPresent()) {
            Files.createDirectories(opt.out.get().toAbsolutePath().getParent());
            Files.writeString(opt.out.get(), report + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
    }

    /** Each site exports its share of the services; waits until every site holds all of them. */
    private static Map<String, List<ServiceKey>> loadPhase(Options opt, List<String> sites, List<InfinispanRegistry> r,
            List<org.infinispan.Cache<String, String>> caches, long heapEmpty, List<TP> bridges, StringBuilder report) throws Exception {
        Map<String, List<ServiceKey>> own = new LinkedHashMap<>();
        for (String s : sites) {
            own.put(s, new ArrayList<>());
        }
        for (int i = 0; i < opt.services; i++) {
            String s = sites.get(i % sites.size());
            own.get(s).add(new ServiceKey(s, NAMESPACE, "svc-" + i));
        }
        List<CountDownLatch> held = new ArrayList<>();
        for (int i = 0; i < sites.size(); i++) {
            String s = sites.get(i);
            CountDownLatch latch = new CountDownLatch(opt.services - own.get(s).size());
            held.add(latch);
            r.get(i).addListener(new RegistryListener() {
                @Override
                public void exported(ExportedService current, ExportedService previous) {
                    if (previous == null && !current.key().cluster().equals(s) && current.key().namespace().equals(NAMESPACE)) {
                        latch.countDown();
                    }
                }

                @Override
                public void unexported(ExportedService previous) {
                }
            });
        }
        long bytes0 = bytesSent(bridges);
        long t0 = System.nanoTime();
        List<Thread> writers = new ArrayList<>();
        for (int i = 0; i < sites.size(); i++) {
            InfinispanRegistry registry = r.get(i);
            List<ServiceKey> keys = own.get(sites.get(i));
            writers.add(Thread.ofPlatform().name("bench-load-" + sites.get(i)).start(() -> {
                for (ServiceKey k : keys) {
                    registry.export(spec(k, 1));
                }
            }));
        }
        for (Thread t : writers) {
            t.join();
        }
        long written = System.nanoTime() - t0;
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(opt.loadTimeoutSeconds);
        for (int i = 0; i < held.size(); i++) {
            if (!held.get(i).await(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                throw new IllegalStateException("not replicated within " + opt.loadTimeoutSeconds + " s: site "
                        + sites.get(i) + " misses " + held.get(i).getCount() + " services");
            }
        }
        long replicated = System.nanoTime() - t0;
        long loadBytes = bytesSent(bridges) - bytes0;
        long heapFull = usedHeapAfterGc();
        line(report, "load: %d services written by their owners in %.2f s (%.0f/s), held by every site after %.2f s; "
                + "bridge bytes %.1f MiB (%.0f per export)", opt.services, written / 1e9, opt.services / (written / 1e9),
                replicated / 1e9, loadBytes / 1048576.0, (double) loadBytes / opt.services);
        line(report, "heap: %.1f MiB for %d services on %d sites (cache values + decoded index): %.0f bytes per service "
                + "per site", (heapFull - heapEmpty) / 1048576.0, opt.services, sites.size(),
                (heapFull - heapEmpty) / (double) sites.size() / opt.services);
        ServiceKey sample = own.get(sites.get(0)).get(0);
        String stored = caches.get(1).get(EntryCodec.key(sample));
        line(report, "stored value of one export: %d bytes (the entry's own JSON: %d bytes)",
                stored == null ? -1 : stored.length(), r.get(1).get(sample).map(e -> EntryCodec.encode(e).length()).orElse(-1));
        return own;
    }

    /** Paced random updates by the owners; arrivals timed at every other site. */
    private static void churnPhase(Options opt, List<String> sites, List<InfinispanRegistry> r,
            Map<String, List<ServiceKey>> own, List<TP> bridges, StringBuilder report, Timeline timeline)
            throws Exception {
        int n = sites.size();
        // sequence number (carried as the ready-endpoint count, a content change) -> scheduled instant (nanoTime)
        Map<Integer, Long> scheduled = new ConcurrentHashMap<>();
        // sequence number -> when the owner's export() returned (the write side of the propagation)
        Map<Integer, Long> written = new ConcurrentHashMap<>();
        AtomicInteger sequence = new AtomicInteger(1_000);
        long start = System.nanoTime();
        long measureFrom = start + TimeUnit.SECONDS.toNanos(opt.warmupSeconds);
        long end = start + TimeUnit.SECONDS.toNanos(opt.durationSeconds);
        AtomicLong measuredArrivals = new AtomicLong();
        List<List<Long>> arrivals = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            List<Long> mine = Collections.synchronizedList(new ArrayList<>());
            arrivals.add(mine);
            String s = sites.get(i);
            r.get(i).addListener(new RegistryListener() {
                @Override
                public void exported(ExportedService current, ExportedService previous) {
                    if (current.key().cluster().equals(s) || !current.key().namespace().equals(NAMESPACE)
                            || previous == null || previous.readyEndpoints() == current.readyEndpoints()) {
                        return; // own write, another test's key, or a heartbeat of unchanged content
                    }
                    long now = System.nanoTime();
                    Long at = scheduled.get(current.readyEndpoints());
                    if (at != null && at >= measureFrom) {
                        mine.add(now - at);
                        timeline.arrival(at, now, written.getOrDefault(current.readyEndpoints(), now));
                        measuredArrivals.incrementAndGet();
                    }
                }

                @Override
                public void unexported(ExportedService previous) {
                }
            });
        }
        long bytes0 = bytesSent(bridges);
        long cpu0 = processCpuNanos();
        AtomicLong issued = new AtomicLong();
        AtomicLong issuedMeasured = new AtomicLong();
        List<Thread> writers = new ArrayList<>();
        double perSiteRate = opt.churn / (double) n;
        for (int i = 0; i < n && opt.churn > 0; i++) {
            InfinispanRegistry registry = r.get(i);
            List<ServiceKey> keys = own.get(sites.get(i));
            long offset = (long) (i * 1e9 / opt.churn);
            writers.add(Thread.ofPlatform().name("bench-churn-" + sites.get(i)).start(() -> {
                long k = 0;
                while (true) {
                    long at = start + offset + (long) (k * 1e9 / perSiteRate);
                    if (at >= end) {
                        return;
                    }
                    long wait = at - System.nanoTime();
                    if (wait > 0) {
                        java.util.concurrent.locks.LockSupport.parkNanos(wait);
                    }
                    int seq = sequence.incrementAndGet();
                    scheduled.put(seq, at);
                    ServiceKey key = keys.get(ThreadLocalRandom.current().nextInt(keys.size()));
                    registry.export(spec(key, seq));
                    if (opt.timeline.isPresent()) {
                        written.put(seq, System.nanoTime());
                    }
                    issued.incrementAndGet();
                    if (at >= measureFrom) {
                        issuedMeasured.incrementAndGet();
                    }
                    k++;
                }
            }));
        }
        for (Thread t : writers) {
            t.join();
        }
        // With no churn (heartbeats only) the window still lasts --duration.
        while (System.nanoTime() < end) {
            Thread.sleep(Math.max(1, Math.min(200, (end - System.nanoTime()) / 1_000_000)));
        }
        long writersDone = System.nanoTime();
        long expected = issuedMeasured.get() * (n - 1);
        long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (measuredArrivals.get() < expected && System.nanoTime() < waitUntil) {
            Thread.sleep(20);
        }
        long churnBytes = bytesSent(bridges) - bytes0;
        long churnCpu = processCpuNanos() - cpu0;
        long elapsed = System.nanoTime() - start;
        List<Long> all = new ArrayList<>();
        arrivals.forEach(a -> {
            synchronized (a) {
                all.addAll(a);
            }
        });
        long[] sorted = all.stream().mapToLong(Long::longValue).sorted().toArray();
        line(report, "churn: %d updates issued in %.1f s (%.0f/s achieved, target %d/s; writers done %.1f s after the "
                + "end of the schedule)", issued.get(), (writersDone - start) / 1e9,
                issued.get() / ((writersDone - start) / 1e9), opt.churn, Math.max(0, writersDone - end) / 1e9);
        if (sorted.length == 0) {
            line(report, "propagation: no measured arrivals (expected %d)", expected);
        } else {
            line(report, "propagation under churn, scheduled update -> applied at each other site (%d arrivals of %d "
                    + "expected; the rest were overtaken by a newer update of the same key or did not arrive within "
                    + "30 s): p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms", sorted.length, expected,
                    pct(sorted, 50), pct(sorted, 90), pct(sorted, 99), sorted[sorted.length - 1] / 1e6);
        }
        line(report, "bridge bytes during churn (heartbeats included): %.1f MiB in %.1f s = %.0f KiB/s, %.0f bytes per "
                + "update issued", churnBytes / 1048576.0, elapsed / 1e9, churnBytes / 1024.0 / (elapsed / 1e9),
                issued.get() == 0 ? 0.0 : (double) churnBytes / issued.get());
        // CPU time of this whole process (all sites: signing, verifying, replicating, heartbeats) per update: unlike
        // the latencies, it does not depend on how many other processes share the machine.
        line(report, "CPU during churn (all %d sites, heartbeats included): %.1f s, %.2f ms per update issued", n,
                churnCpu / 1e9, issued.get() == 0 ? 0.0 : churnCpu / 1e6 / issued.get());
        for (int i = 0; i < n; i++) {
            line(report, "  %s: refused records %d", sites.get(i), r.get(i).refusedEntries());
        }
        if (opt.timeline.isPresent()) {
            Files.writeString(opt.timeline.get(), timeline.render(start, measureFrom));
            line(report, "timeline (per second of schedule, heartbeat rounds, slowest arrivals): %s", opt.timeline.get());
        }
    }

    /**
     * When the slow updates happen: each measured arrival by its scheduled instant, split into the owner's write
     * (scheduled -> export() returned: signing, the local put, a writer that fell behind) and the rest (replication,
     * verification and indexing at the receiving site), next to every heartbeat round. Times are also printed as JVM
     * uptime, to line up with {@code -Xlog:gc} and JFR.
     */
    static final class Timeline {
        private final List<long[]> arrivals = Collections.synchronizedList(new ArrayList<>());
        private final List<String> rounds = Collections.synchronizedList(new ArrayList<>());
        private final List<long[]> roundTimes = Collections.synchronizedList(new ArrayList<>());
        private final long uptimeOrigin = System.nanoTime()
                - TimeUnit.MILLISECONDS.toNanos(ManagementFactory.getRuntimeMXBean().getUptime());

        void arrival(long scheduled, long applied, long written) {
            arrivals.add(new long[] {scheduled, applied, Math.min(written, applied)});
        }

        void round(String site, long from, long to) {
            rounds.add(site);
            roundTimes.add(new long[] {from, to});
        }

        String render(long start, long measureFrom) {
            StringBuilder out = new StringBuilder();
            List<long[]> all;
            synchronized (arrivals) {
                all = new ArrayList<>(arrivals);
            }
            out.append(String.format("# churn started at JVM uptime %.3f s; measured from %.3f s%n",
                    (start - uptimeOrigin) / 1e9, (measureFrom - uptimeOrigin) / 1e9));
            out.append("# heartbeat rounds (site, start uptime s, duration ms)\n");
            synchronized (roundTimes) {
                for (int i = 0; i < roundTimes.size(); i++) {
                    long[] t = roundTimes.get(i);
                    out.append(String.format("round %s %.3f %.1f%n", rounds.get(i), (t[0] - uptimeOrigin) / 1e9,
                            (t[1] - t[0]) / 1e6));
                }
            }
            out.append("# per second of schedule: uptime s, arrivals, p50 / p99 / max ms (total), p99 / max ms (write part),"
                    + " arrivals over 50 ms\n");
            Map<Long, List<long[]>> bySecond = new java.util.TreeMap<>();
            for (long[] a : all) {
                bySecond.computeIfAbsent((a[0] - uptimeOrigin) / 1_000_000_000L, k -> new ArrayList<>()).add(a);
            }
            for (Map.Entry<Long, List<long[]>> e : bySecond.entrySet()) {
                long[] total = e.getValue().stream().mapToLong(a -> a[1] - a[0]).sorted().toArray();
                long[] write = e.getValue().stream().mapToLong(a -> a[2] - a[0]).sorted().toArray();
                long slow = java.util.Arrays.stream(total).filter(t -> t > 50_000_000L).count();
                out.append(String.format("sec %d n %d total %.1f / %.1f / %.1f write %.1f / %.1f slow %d%n", e.getKey(),
                        total.length, pct(total, 50), pct(total, 99), total[total.length - 1] / 1e6, pct(write, 99),
                        write[write.length - 1] / 1e6, slow));
            }
            out.append("# slowest 1% of arrivals: scheduled uptime s, total ms, write part ms\n");
            all.sort(java.util.Comparator.comparingLong((long[] a) -> a[1] - a[0]).reversed());
            for (long[] a : all.subList(0, Math.min(all.size(), Math.max(1, all.size() / 100)))) {
                out.append(String.format("slow %.3f %.1f %.1f%n", (a[0] - uptimeOrigin) / 1e9, (a[1] - a[0]) / 1e6,
                        (a[2] - a[0]) / 1e6));
            }
            return out.toString();
        }
    }

    /** The transport of every distinct bridge channel (one per site master), with its message counters on. */
    private static List<TP> bridgeTransports(List<RegistryNode> nodes, List<String> sites) {
        Map<JChannel, Boolean> seen = new IdentityHashMap<>();
        List<TP> out = new ArrayList<>();
        for (RegistryNode node : nodes) {
            Transport transport = GlobalComponentRegistry.of(node.cacheManager()).getComponent(Transport.class);
            JChannel local = ((JGroupsTransport) transport).getChannel();
            RELAY relay = local.getProtocolStack().findProtocol(RELAY.class);
            for (String s : sites) {
                JChannel bridge = relay == null ? null : relay.getBridge(s);
                if (bridge != null && seen.put(bridge, Boolean.TRUE) == null) {
                    TP tp = bridge.getProtocolStack().getTransport();
                    tp.getMessageStats().enable(true);
                    out.add(tp);
                }
            }
        }
        if (out.isEmpty()) {
            throw new IllegalStateException("no bridge channel found: cannot count bridge bytes");
        }
        return out;
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static long bytesSent(List<TP> bridges) {
        return bridges.stream().mapToLong(tp -> tp.getMessageStats().getNumBytesSent()).sum();
    }

    private static void line(StringBuilder report, String format, Object... args) {
        String l = String.format(format, args);
        System.out.println(l);
        report.append(l).append('\n');
    }

    private static ExportSpec spec(ServiceKey key, int ready) {
        return new ExportSpec(key, List.of(new ServicePort("http", 8080, Protocol.HTTP), new ServicePort("grpc", 9090,
                Protocol.GRPC)), List.of(SpiffeId.parse("spiffe://" + td(key.cluster()).name() + "/ns/" + key.namespace()
                        + "/sa/" + key.name())), ready);
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

    private static double loadAverage() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }

    private static SpiffeId gateway(String site) {
        return SpiffeId.parse("spiffe://" + td(site).name() + "/ns/isthmus-system/sa/gateway");
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
