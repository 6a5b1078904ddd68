package io.isthmus.proxy;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.SSLContext;

import com.sun.net.httpserver.HttpServer;

import io.isthmus.proxy.authn.AuthnFailure;
import io.isthmus.proxy.authn.AuthnResult;
import io.isthmus.proxy.authn.TokenAuthenticator;
import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Authorizer;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.DenyReason;
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
import io.isthmus.registry.ServiceResolver;
import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;
import io.isthmus.trust.tls.TlsContexts;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * Three clusters a, b, c on loopback under one test root, each with its own intermediate, gateway SVID, ingress,
 * egress and a tiny JDK HTTP backend for payments.billing that answers with its cluster's name and the
 * {@code x-forwarded-client-cert} it received. b and c both export payments (b nearer to a); the registry is a
 * hand-written in-memory resolver. Every gateway's verifier reads one shared, mutable bundle set.
 */
final class Federation implements AutoCloseable {
    static final MeshName PAYMENTS = MeshName.of("payments", "billing");
    static final String CHECKOUT = "spiffe://a.acme.internal/ns/shop/sa/checkout";
    static final String CART = "spiffe://a.acme.internal/ns/shop/sa/cart";

    final TestCa pki = TestCa.create();
    final AtomicReference<BundleSet> bundles = new AtomicReference<>(BundleSet.empty());
    final Map<String, Cluster> clusters = new LinkedHashMap<>();
    final List<ExportedService> exports = new CopyOnWriteArrayList<>();
    /** More backends every cluster's ingress serves, by mesh host name (tests add gRPC servers here). */
    final Map<String, InetSocketAddress> extraBackends = new java.util.concurrent.ConcurrentHashMap<>();
    final ProxySettings settings;

    /** Who may call payments: checkout only. Records every request it is asked about. */
    final List<AccessRequest> asked = new CopyOnWriteArrayList<>();
    final List<Decision> logged = new CopyOnWriteArrayList<>();
    /** What the decision log was given, request with decision, in order. */
    final List<Map.Entry<AccessRequest, Decision>> audited = new CopyOnWriteArrayList<>();
    final Authorizer checkoutOnly = request -> {
        asked.add(request);
        return request.source().toString().equals(CHECKOUT)
                ? new Decision.Allowed("payments-policy", "allow-checkout", List.of())
                : new Decision.Denied(DenyReason.NO_MATCHING_ALLOW, "", "", "", List.of());
    };

    /** Bearer tokens of local callers in cluster a: the token is the service account name. */
    final TokenAuthenticator tokens = token -> CompletableFuture.completedFuture(
            token.equals("checkout") || token.equals("cart")
                    ? new AuthnResult.Authenticated(SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/" + token))
                    : new AuthnResult.Refused(AuthnFailure.TOKEN_REJECTED, "token is not valid"));

    final class Cluster {
        final String name;
        final TrustDomain td;
        final CaCredential ca;
        final X509Svid gateway;
        final NettyTransport transport;
        final SimpleMeterRegistry meters = new SimpleMeterRegistry();
        final HttpServer backend;
        final java.util.concurrent.ExecutorService backendThreads;
        final List<String> backendSawXfcc = new CopyOnWriteArrayList<>();
        final java.util.concurrent.atomic.AtomicInteger slowCallsStarted = new java.util.concurrent.atomic.AtomicInteger();
        IngressServer ingress;
        EgressServer egress;
        final InetSocketAddress ingressAddress;

        Cluster(String name) throws IOException {
            this.name = name;
            this.td = new TrustDomain(name + ".acme.internal");
            this.ca = pki.intermediate(td.name());
            this.gateway = TestCa.svid(ca, "spiffe://" + td.name() + "/ns/isthmus-system/sa/isthmus-gateway");
            this.transport = NettyTransport.create(1, "gw-" + name);
            this.backend = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            backend.createContext("/slow", exchange -> {
                slowCallsStarted.incrementAndGet();
                try {
                    Thread.sleep(2_500);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                exchange.sendResponseHeaders(200, -1);
                exchange.close();
            });
            backend.createContext("/", exchange -> {
                String xfcc = exchange.getRequestHeaders().getFirst("x-forwarded-client-cert");
                backendSawXfcc.add(String.valueOf(xfcc));
                byte[] body = ("cluster=" + name + "\nxfcc=" + xfcc + "\ncaller-header="
                        + exchange.getRequestHeaders().getFirst("x-isthmus-caller") + "\npath="
                        + exchange.getRequestURI() + "\n").getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            });
            backendThreads = java.util.concurrent.Executors.newFixedThreadPool(4);
            backend.setExecutor(backendThreads);
            backend.start();
            this.ingressAddress = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        }

        X509SvidVerifier verifier() {
            return new X509SvidVerifier(pki.roots(), td -> bundles.get().bundleFor(td), Clock.systemUTC(),
                    Duration.ofSeconds(30));
        }

        void start(Authorizer authorizer) {
            ProxyTls tls = ProxyTls.create(() -> gateway, verifier(), t -> bundles.get().bundleFor(t), td);
            ProxyMetrics metrics = new ProxyMetrics(meters);
            StaticBackends local = new StaticBackends(Map.of(PAYMENTS.host(), backend.getAddress()), false);
            io.isthmus.proxy.ingress.LocalBackends withExtras = (n, port) -> {
                InetSocketAddress extra = extraBackends.get(n.host());
                return extra != null ? Optional.of(extra) : local.resolve(n, port);
            };
            ingress = new IngressServer(transport, settings, tls, () -> gateway, withExtras, authorizer,
                    (request, decision) -> {
                        logged.add(decision);
                        audited.add(Map.entry(request, decision));
                    }, metrics);
            ingress.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            egress = new EgressServer(transport, settings, tls, resolver(), new Locality("eu", "eu-1" + name),
                    tokens, metrics);
            egress.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        }

        void stopGateway() {
            ingress.close();
            egress.close();
        }

        /** An SVID-holding client context for raw connections (trusts any federated server). */
        SSLContext clientContext(X509Svid svid) {
            return TlsContexts.create(svid == null ? null : () -> svid,
                    new SpiffeTrustManager(verifier(), PeerPolicy.anyFederated()));
        }

        double counter(String name, String... tags) {
            var search = meters.find(name).tags(tags);
            return search.counters().stream().mapToDouble(c -> c.count()).sum();
        }

        void close() {
            if (ingress != null) {
                stopGateway();
            }
            transport.close();
            backend.stop(0);
            backendThreads.shutdownNow();
        }
    }

    Federation(ProxySettings settings) {
        this.settings = settings;
    }

    static Federation start(ProxySettings settings) throws IOException {
        Federation f = new Federation(settings);
        for (String n : List.of("a", "b", "c")) {
            f.clusters.put(n, f.new Cluster(n));
        }
        List<TrustBundle> list = new ArrayList<>();
        for (Cluster c : f.clusters.values()) {
            list.add(new TrustBundle(c.td, List.of(c.ca.certificate()), List.of(), 1, Optional.empty()));
        }
        f.bundles.set(BundleSet.of(list));
        for (Cluster c : f.clusters.values()) {
            c.start(f.checkoutOnly);
        }
        // payments is exported by b (same region as a: nearer) and c (elsewhere).
        f.exports.add(f.export(f.cluster("b"), new Locality("eu", "eu-1b")));
        f.exports.add(f.export(f.cluster("c"), new Locality("us", "us-1c")));
        return f;
    }

    Cluster cluster(String name) {
        return clusters.get(name);
    }

    private ExportedService export(Cluster c, Locality locality) {
        InetSocketAddress in = c.ingress.address();
        return new ExportedService(new ServiceKey(c.name, "billing", "payments"),
                List.of(new ServicePort("http", 80, Protocol.HTTP)), List.of(), new IngressAddress("127.0.0.1",
                        in.getPort()), locality, 1, 1, Instant.now(), Duration.ofMinutes(5));
    }

    /** Routable exports of the name, nearest first, as the registry's resolver promises. */
    ServiceResolver resolver() {
        return new ServiceResolver() {
            @Override
            public List<ExportedService> resolve(MeshName name, Locality from) {
                return exports.stream().filter(e -> e.meshName(name.suffix()).equals(name))
                        .sorted(java.util.Comparator.comparingInt(e -> from.distanceTo(e.locality()))).toList();
            }

            /** Cluster n is trust domain n.acme.internal, as the registry's resolver knows from its site config. */
            @Override
            public Optional<io.isthmus.trust.spiffe.TrustDomain> trustDomainOf(String cluster) {
                return Optional.ofNullable(clusters.get(cluster)).map(c -> c.td);
            }
        };
    }

    /** Exports {@code name} from cluster b (gRPC port 9090, near a), served by a backend on loopback {@code port}. */
    void exportGrpcFromB(MeshName name, int port) {
        Cluster b = cluster("b");
        extraBackends.put(name.host(), new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        exports.add(new ExportedService(new ServiceKey("b", name.namespace(), name.service()),
                List.of(new ServicePort("grpc", 9090, Protocol.GRPC)), List.of(),
                new IngressAddress("127.0.0.1", b.ingress.address().getPort()), new Locality("eu", "eu-1b"), 1, 1,
                Instant.now(), Duration.ofMinutes(5)));
    }

    /** A grpc-java channel to a's egress over TLS with {@code caller}'s SVID, calling {@code name}. */
    io.grpc.ManagedChannel grpcChannel(String caller, MeshName name, int maxInboundMessageSize)
            throws Exception {
        Cluster a = cluster("a");
        X509Svid svid = TestCa.svid(a.ca, caller);
        var tls = io.grpc.netty.GrpcSslContexts.forClient()
                .keyManager(svid.key(), svid.chain().toArray(java.security.cert.X509Certificate[]::new))
                .trustManager(new SpiffeTrustManager(a.verifier(), PeerPolicy.anyFederated())).build();
        InetSocketAddress egress = a.egress.address();
        return io.grpc.netty.NettyChannelBuilder.forAddress(egress.getHostString(), egress.getPort())
                .overrideAuthority(name.host()).sslContext(tls).maxInboundMessageSize(maxInboundMessageSize).build();
    }

    /** Removes {@code cluster}'s intermediate from its trust domain's bundle: revokes everything it signed. */
    void revoke(Cluster cluster) {
        bundles.set(bundles.get().with(new TrustBundle(cluster.td, List.of(), List.of(), 2, Optional.empty())));
    }

    @Override
    public void close() {
        clusters.values().forEach(Cluster::close);
    }
}
