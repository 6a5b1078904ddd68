package io.isthmus.bench.proxy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;

import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.authn.AuthnFailure;
import io.isthmus.proxy.authn.AuthnResult;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.audit.AuditSink;
import io.isthmus.proxy.authz.audit.FileAuditSink;
import io.isthmus.proxy.egress.EgressServer;
import io.isthmus.proxy.ingress.IngressServer;
import io.isthmus.proxy.ingress.StaticBackends;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.proxy.tls.ProxyTls;
import io.isthmus.proxy.transport.NettyTransport;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.Locality;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.CaFactory;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.x509.Pem;
import io.isthmus.proxy.telemetry.ClusterDirectory;
import io.isthmus.proxy.telemetry.HopTracer;
import io.isthmus.proxy.telemetry.JsonAccessLog;
import io.isthmus.proxy.telemetry.Telemetry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * The Isthmus side of the proxy benchmark (benchmarks/proxy/run.sh): one federation root, clusters a and b, a's
 * egress and b's ingress in this JVM (like one HAProxy process with both frontends), b's backend outside. Writes
 * the PKI as PEM files so that HAProxy and openssl use the very same certificates, then prints READY.
 *
 * <p>{@code -Disthmus.bench.role=ingress} runs only b's ingress (it still makes and writes the PKI) and
 * {@code -Disthmus.bench.role=egress} only a's egress, with the PKI read from the ingress's files: the two gateways of
 * a call in two processes, as in a federation (run.sh's {@code PROCESSES=2}). The default, {@code both}, runs both.
 *
 * <p>Usage: {@code ProxyBenchServer <out-dir> <egress-port> <ingress-port> <backend-port> <io-threads>
 * [<bulk-backend-port> <grpc-backend-port>]}: {@code payments.billing} goes to the backend, {@code bulk.billing} (the
 * 1 GiB transfer) and {@code grpc.billing} to the optional others.
 */
public final class ProxyBenchServer {
    private ProxyBenchServer() {
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        int egressPort = Integer.parseInt(args[1]);
        int ingressPort = Integer.parseInt(args[2]);
        int backendPort = Integer.parseInt(args[3]);
        int threads = Integer.parseInt(args[4]);
        int bulkPort = args.length > 6 ? Integer.parseInt(args[5]) : backendPort;
        int grpcPort = args.length > 6 ? Integer.parseInt(args[6]) : backendPort;
        String role = System.getProperty("isthmus.bench.role", "both");
        if (!List.of("both", "ingress", "egress").contains(role)) {
            throw new IllegalArgumentException("-Disthmus.bench.role must be both, ingress or egress, not " + role);
        }
        boolean runIngress = !role.equals("egress");
        boolean runEgress = !role.equals("ingress");

        Clock clock = Clock.systemUTC();
        // The ingress (or the one process) makes the PKI and writes it; an egress of its own reads it back.
        Pki pki = runIngress ? Pki.generate(clock).write(out) : Pki.load(out);
        TrustDomain a = new TrustDomain("a.acme.internal");
        TrustDomain b = new TrustDomain("b.acme.internal");
        BundleSet bundles = BundleSet.of(List.of(
                new TrustBundle(a, List.of(pki.intermediateA()), List.of(), 1, Optional.empty()),
                new TrustBundle(b, List.of(pki.intermediateB()), List.of(), 1, Optional.empty())));
        X509SvidVerifier verifier = new X509SvidVerifier(FederationRoots.of(pki.root()), bundles, clock,
                X509SvidVerifier.DEFAULT_SKEW);
        MeshName payments = MeshName.of("payments", "billing");
        MeshName bulk = MeshName.of("bulk", "billing");
        MeshName grpcName = MeshName.of("grpc", "billing");
        ProxySettings settings = ProxySettings.defaults();
        NettyTransport transport = NettyTransport.create(threads, "bench");
        ProxyMetrics metrics = new ProxyMetrics(new SimpleMeterRegistry());
        List<Runnable> closers = new ArrayList<>();

        // -Disthmus.bench.verdict-cache=false verifies every peer SVID in full (no reuse of verified verdicts).
        io.isthmus.trust.bundle.BundleSource cache = Boolean.parseBoolean(
                System.getProperty("isthmus.bench.verdict-cache", "true")) ? bundles : null;
        ProxyTls tls = null;
        if (runIngress) {
            X509Svid gwB = pki.gatewayB().orElseThrow();
            tls = ProxyTls.create(() -> gwB, verifier, cache, b);
            IngressServer ingress = new IngressServer(transport, settings, tls, () -> gwB,
                    new StaticBackends(Map.of(payments.host(), new InetSocketAddress("127.0.0.1", backendPort),
                            bulk.host(), new InetSocketAddress("127.0.0.1", bulkPort),
                            grpcName.host(), new InetSocketAddress("127.0.0.1", grpcPort)), false),
                    request -> new Decision.Allowed("bench", "allow-all", List.of()), (request, decision) -> {
                    }, metrics, io.isthmus.proxy.authz.vouch.GatewayIdentities.conventional(List.of(a, b)),
                    new io.isthmus.proxy.http.path.PathNormalizer(io.isthmus.proxy.http.path.PathNormalization.parse(
                            System.getProperty("isthmus.bench.path-normalization", "merge-slashes"))),
                    telemetry(a, b, "b"));
            ingress.start(new InetSocketAddress("127.0.0.1", ingressPort));
            closers.add(ingress::close);
        }
        if (runEgress) {
            X509Svid gwA = pki.gatewayA();
            tls = ProxyTls.create(() -> gwA, verifier, cache, a);
            Map<MeshName, List<ExportedService>> exports = Map.of(payments, List.of(export(payments, ingressPort)),
                    bulk, List.of(export(bulk, ingressPort)), grpcName, List.of(export(grpcName, ingressPort)));
            AuthnResult caller = new AuthnResult.Authenticated(SpiffeId.parse("spiffe://a.acme.internal/ns/bench/sa/wrk"));
            CompletableFuture<AuthnResult> ok = CompletableFuture.completedFuture(caller);
            CompletableFuture<AuthnResult> refused = CompletableFuture.completedFuture(
                    new AuthnResult.Refused(AuthnFailure.TOKEN_REJECTED, "not the bench token"));
            EgressServer egress = new EgressServer(transport, settings, tls,
                    (name, from) -> exports.getOrDefault(name, List.of()), Locality.UNKNOWN,
                    token -> token.equals("bench") ? ok : refused, metrics, telemetry(a, b, "a"));
            egress.start(new InetSocketAddress("127.0.0.1", egressPort));
            closers.addFirst(egress::close);
        }

        System.out.println("READY role=" + role + " provider=" + tls.provider() + " epoll=" + transport.epoll()
                + " threads=" + threads + " verdict-cache=" + (cache != null));
        System.out.flush();
        CountDownLatch forever = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            closers.forEach(Runnable::run);
            transport.close();
            forever.countDown();
        }));
        forever.await();
    }

    /**
     * The benchmark's certificates: one federation root, a name-constrained intermediate per cluster, and a gateway
     * SVID per cluster. {@link #load} reads back what {@link #write} wrote, for an egress in a process of its own: it
     * gets a's gateway SVID and only the certificates of b ({@code gatewayB} empty: b's key stays with b).
     */
    record Pki(X509Certificate root, X509Certificate intermediateA, X509Certificate intermediateB, X509Svid gatewayA,
            Optional<X509Svid> gatewayB) {
        private static final SpiffeId GATEWAY_A = SpiffeId.parse("spiffe://a.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
        private static final SpiffeId GATEWAY_B = SpiffeId.parse("spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway");

        static Pki generate(Clock clock) {
            CaFactory cas = new CaFactory(clock);
            CaCredential root = cas.createRoot("Isthmus bench root", Duration.ofDays(2));
            CaCredential caA = cas.issueIntermediate(root, new TrustDomain("a.acme.internal"), Duration.ofDays(1));
            CaCredential caB = cas.issueIntermediate(root, new TrustDomain("b.acme.internal"), Duration.ofDays(1));
            SvidIssuer issuer = new SvidIssuer(clock);
            return new Pki(root.certificate(), caA.certificate(), caB.certificate(),
                    issuer.issue(caA, GATEWAY_A, Duration.ofHours(12)),
                    Optional.of(issuer.issue(caB, GATEWAY_B, Duration.ofHours(12))));
        }

        /** Writes root.pem and, per gateway, {@code <name>.crt} (leaf, intermediate), {@code .key} and {@code .pem}. */
        Pki write(Path out) throws IOException {
            Files.createDirectories(out);
            Files.writeString(out.resolve("root.pem"), Pem.write(root));
            writeSvid(out, "a-gw", gatewayA);
            writeSvid(out, "b-gw", gatewayB.orElseThrow());
            return this;
        }

        static Pki load(Path dir) {
            List<X509Certificate> chainA = Pem.readCertificates(dir.resolve("a-gw.crt"));
            List<X509Certificate> chainB = Pem.readCertificates(dir.resolve("b-gw.crt"));
            X509Svid gatewayA = new X509Svid(GATEWAY_A, Pem.readPrivateKey(dir.resolve("a-gw.key")), chainA);
            return new Pki(Pem.readCertificate(dir.resolve("root.pem")), chainA.get(1), chainB.get(1), gatewayA,
                    Optional.empty());
        }

        private static void writeSvid(Path out, String name, X509Svid svid) throws IOException {
            String chain = Pem.write(svid.chain());
            String key = Pem.writePrivateKey(svid.key());
            Files.writeString(out.resolve(name + ".crt"), chain);
            Files.writeString(out.resolve(name + ".key"), key);
            // HAProxy wants certificate chain and key in one file.
            Files.writeString(out.resolve(name + ".pem"), chain + key);
        }
    }

    private static ExportedService export(MeshName name, int ingressPort) {
        return new ExportedService(new ServiceKey("b", name.namespace(), name.service()),
                List.of(new ServicePort("http", 80, Protocol.HTTP)), List.of(),
                new IngressAddress("127.0.0.1", ingressPort), Locality.UNKNOWN, 1, 1, Instant.now(), Duration.ofDays(1));
    }

    /**
     * The gateway's default telemetry: cluster labels for a and b, no spans, and the JSON access log (on by default in
     * the gateway) unless {@code -Disthmus.bench.access-log=false}; its lines are serialized and then discarded, or
     * appended to {@code <file>.a} (egress) and {@code <file>.b} (ingress) when {@code -Disthmus.bench.access-log-file=<file>}
     * is set, to read each request's {@code duration_us} on each side (where a slow request spent its time).
     */
    private static Telemetry telemetry(TrustDomain a, TrustDomain b, String self) throws IOException {
        String file = System.getProperty("isthmus.bench.access-log-file", "");
        AuditSink sink = file.isEmpty() ? lines -> { } : new FileAuditSink(Path.of(file + "." + self));
        Optional<JsonAccessLog> log = Boolean.parseBoolean(System.getProperty("isthmus.bench.access-log", "true"))
                ? Optional.of(new JsonAccessLog(sink, new SimpleMeterRegistry(), 8192))
                : Optional.empty();
        return new Telemetry(new ClusterDirectory(self, Map.of(a, "a", b, "b"), 500), log, HopTracer.OFF,
                Clock.systemUTC());
    }
}
