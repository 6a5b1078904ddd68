package io.isthmus.bench.proxy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
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
        Files.createDirectories(out);

        Clock clock = Clock.systemUTC();
        CaFactory cas = new CaFactory(clock);
        CaCredential root = cas.createRoot("Isthmus bench root", Duration.ofDays(2));
        TrustDomain a = new TrustDomain("a.acme.internal");
        TrustDomain b = new TrustDomain("b.acme.internal");
        CaCredential caA = cas.issueIntermediate(root, a, Duration.ofDays(1));
        CaCredential caB = cas.issueIntermediate(root, b, Duration.ofDays(1));
        SvidIssuer issuer = new SvidIssuer(clock);
        X509Svid gwA = issuer.issue(caA, SpiffeId.parse("spiffe://a.acme.internal/ns/isthmus-system/sa/isthmus-gateway"),
                Duration.ofHours(12));
        X509Svid gwB = issuer.issue(caB, SpiffeId.parse("spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway"),
                Duration.ofHours(12));
        write(out.resolve("root.pem"), Pem.write(root.certificate()));
        writeSvid(out, "a-gw", gwA);
        writeSvid(out, "b-gw", gwB);

        BundleSet bundles = BundleSet.of(List.of(
                new TrustBundle(a, List.of(caA.certificate()), List.of(), 1, Optional.empty()),
                new TrustBundle(b, List.of(caB.certificate()), List.of(), 1, Optional.empty())));
        X509SvidVerifier verifier = new X509SvidVerifier(FederationRoots.of(root.certificate()), bundles, clock,
                X509SvidVerifier.DEFAULT_SKEW);
        MeshName payments = MeshName.of("payments", "billing");
        MeshName bulk = MeshName.of("bulk", "billing");
        MeshName grpcName = MeshName.of("grpc", "billing");
        ProxySettings settings = ProxySettings.defaults();
        NettyTransport transport = NettyTransport.create(threads, "bench");
        ProxyMetrics metrics = new ProxyMetrics(new SimpleMeterRegistry());

        // -Disthmus.bench.verdict-cache=false verifies every peer SVID in full (no reuse of verified verdicts).
        io.isthmus.trust.bundle.BundleSource cache = Boolean.parseBoolean(
                System.getProperty("isthmus.bench.verdict-cache", "true")) ? bundles : null;
        ProxyTls tlsB = ProxyTls.create(() -> gwB, verifier, cache, b);
        IngressServer ingress = new IngressServer(transport, settings, tlsB, () -> gwB,
                new StaticBackends(Map.of(payments.host(), new InetSocketAddress("127.0.0.1", backendPort),
                        bulk.host(), new InetSocketAddress("127.0.0.1", bulkPort),
                        grpcName.host(), new InetSocketAddress("127.0.0.1", grpcPort)), false),
                request -> new Decision.Allowed("bench", "allow-all", List.of()), (request, decision) -> {
                }, metrics, io.isthmus.proxy.authz.vouch.GatewayIdentities.conventional(List.of(a, b)),
                new io.isthmus.proxy.http.path.PathNormalizer(io.isthmus.proxy.http.path.PathNormalization.parse(
                        System.getProperty("isthmus.bench.path-normalization", "merge-slashes"))),
                telemetry(a, b, "b"));
        ingress.start(new InetSocketAddress("127.0.0.1", ingressPort));

        ProxyTls tlsA = ProxyTls.create(() -> gwA, verifier, cache, a);
        Map<MeshName, List<ExportedService>> exports = Map.of(payments, List.of(export(payments, ingressPort)),
                bulk, List.of(export(bulk, ingressPort)), grpcName, List.of(export(grpcName, ingressPort)));
        AuthnResult caller = new AuthnResult.Authenticated(SpiffeId.parse("spiffe://a.acme.internal/ns/bench/sa/wrk"));
        CompletableFuture<AuthnResult> ok = CompletableFuture.completedFuture(caller);
        CompletableFuture<AuthnResult> refused = CompletableFuture.completedFuture(
                new AuthnResult.Refused(AuthnFailure.TOKEN_REJECTED, "not the bench token"));
        EgressServer egress = new EgressServer(transport, settings, tlsA,
                (name, from) -> exports.getOrDefault(name, List.of()), Locality.UNKNOWN,
                token -> token.equals("bench") ? ok : refused, metrics, telemetry(a, b, "a"));
        egress.start(new InetSocketAddress("127.0.0.1", egressPort));

        System.out.println("READY provider=" + tlsA.provider() + " epoll=" + transport.epoll() + " threads=" + threads
                + " verdict-cache=" + (cache != null));
        System.out.flush();
        CountDownLatch forever = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            egress.close();
            ingress.close();
            transport.close();
            forever.countDown();
        }));
        forever.await();
    }

    private static ExportedService export(MeshName name, int ingressPort) {
        return new ExportedService(new ServiceKey("b", name.namespace(), name.service()),
                List.of(new ServicePort("http", 80, Protocol.HTTP)), List.of(),
                new IngressAddress("127.0.0.1", ingressPort), Locality.UNKNOWN, 1, 1, Instant.now(), Duration.ofDays(1));
    }

    private static void writeSvid(Path out, String name, X509Svid svid) throws IOException {
        String chain = Pem.write(svid.chain());
        String key = Pem.writePrivateKey(svid.key());
        write(out.resolve(name + ".crt"), chain);
        write(out.resolve(name + ".key"), key);
        // HAProxy wants certificate chain and key in one file.
        write(out.resolve(name + ".pem"), chain + key);
    }

    private static void write(Path file, String text) throws IOException {
        Files.writeString(file, text);
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
