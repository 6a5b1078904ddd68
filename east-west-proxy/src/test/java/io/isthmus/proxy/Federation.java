package io.isthmus.proxy;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.SSLContext;

import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.manager.DefaultCacheManager;

import com.sun.net.httpserver.HttpServer;

import io.isthmus.proxy.authn.AuthnFailure;
import io.isthmus.proxy.authn.AuthnResult;
import io.isthmus.proxy.authn.TokenAuthenticator;
import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Authorizer;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.policy.PolicyAuthorizer;
import io.isthmus.proxy.authz.policy.TestPolicies;
import io.isthmus.proxy.authz.vouch.GatewayIdentities;
import io.isthmus.proxy.egress.EgressServer;
import io.isthmus.proxy.http.path.PathNormalization;
import io.isthmus.proxy.http.path.PathNormalizer;
import io.isthmus.proxy.ingress.IngressServer;
import io.isthmus.proxy.ingress.StaticBackends;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.proxy.telemetry.ClusterDirectory;
import io.isthmus.proxy.telemetry.HopTracer;
import io.isthmus.proxy.telemetry.JsonAccessLog;
import io.isthmus.proxy.telemetry.Telemetry;
import io.isthmus.proxy.tls.ProxyTls;
import io.isthmus.proxy.transport.NettyTransport;
import io.isthmus.registry.ClusterIdentity;
import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.Locality;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Protocol;
import io.isthmus.registry.RegistryResolver;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.registry.ServiceResolver;
import io.isthmus.registry.store.InfinispanRegistry;
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
 * {@code x-forwarded-client-cert} it received. b and c both export payments (b nearer to a). The components are the
 * real ones: the registry is {@link InfinispanRegistry} over one local Infinispan cache that every cluster writes its
 * own exports to, read by the {@link RegistryResolver} the egress uses; the ingress asks a {@link PolicyAuthorizer}
 * over policy YAML ({@link #CHECKOUT_ONLY} unless a test {@link #usePolicies replaces} it). Every gateway's verifier
 * reads one shared, mutable bundle set.
 */
final class Federation implements AutoCloseable {
    static final MeshName PAYMENTS = MeshName.of("payments", "billing");
    static final String CHECKOUT = "spiffe://a.acme.internal/ns/shop/sa/checkout";
    static final String CART = "spiffe://a.acme.internal/ns/shop/sa/cart";
    /** Mesh-wide (the root namespace): a's checkout may call anything, nobody else anything. */
    static final String CHECKOUT_ONLY = """
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: checkout-only, namespace: isthmus-system}
            spec:
              action: ALLOW
              rules:
              - from:
                - source: {principals: ["%s"]}
            """.formatted(CHECKOUT);
    /** A cluster of the federation whose gateway never runs (its exports point at a closed port). */
    static final String DEAD = "d";

    final TestCa pki = TestCa.create();
    final AtomicReference<BundleSet> bundles = new AtomicReference<>(BundleSet.empty());
    final Map<String, Cluster> clusters = new LinkedHashMap<>();
    /** More backends every cluster's ingress serves, by mesh host name (tests add gRPC servers here). */
    final Map<String, InetSocketAddress> extraBackends = new java.util.concurrent.ConcurrentHashMap<>();
    final ProxySettings settings;
    final PathNormalization pathNormalization;
    /** Each cluster's event loops (one thread) and name resolution. */
    private final java.util.function.Function<String, NettyTransport> transports;

    /** One local cache stands for the replicated registry: each cluster writes only its own keys, as across sites. */
    private final DefaultCacheManager registryCaches = new DefaultCacheManager();
    private final Map<ClusterIdentity, InfinispanRegistry> writers = new java.util.concurrent.ConcurrentHashMap<>();
    private final InfinispanRegistry registryOfA;

    /** The destination policy of every cluster's ingress; {@link #usePolicies} replaces it. */
    final PolicyAuthorizer policy = new PolicyAuthorizer(TestPolicies.set(CHECKOUT_ONLY));
    /** Every request the policy was asked about, in order. */
    final List<AccessRequest> asked = new CopyOnWriteArrayList<>();
    final List<Decision> logged = new CopyOnWriteArrayList<>();
    /** What the decision log was given, request with decision, in order. */
    final List<Map.Entry<AccessRequest, Decision>> audited = new CopyOnWriteArrayList<>();
    private final Authorizer recordingPolicy = request -> {
        asked.add(request);
        return policy.authorize(request);
    };

    /**
     * Bearer tokens of local callers in cluster a: the token is the service account name. A stand-in for
     * federation-gateway's {@code TokenReviewAuthenticator}, which this module cannot depend on (the gateway depends
     * on it); that one is tested against a fabric8 mock API server in {@code TokenReviewAuthenticatorTest}. Here only
     * the {@link TokenAuthenticator} contract matters: an identity or a typed refusal.
     */
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
        /** The JSON access-log lines of this cluster's gateway (both listeners), as written. */
        final List<String> accessLog = new CopyOnWriteArrayList<>();
        /** Labels name a, b and c (the federation's trust domains), lines go to {@link #accessLog}; no spans. */
        Telemetry telemetry;
        ProxyTls tls;
        /** a and b in one region (b nearer to a), c in another. */
        final Locality locality;

        Cluster(String name) throws IOException {
            this.name = name;
            this.locality = name.equals("c") ? new Locality("us", "us-1c") : new Locality("eu", "eu-1" + name);
            this.td = new TrustDomain(name + ".acme.internal");
            this.ca = pki.intermediate(td.name());
            this.gateway = TestCa.svid(ca, "spiffe://" + td.name() + "/ns/isthmus-system/sa/isthmus-gateway");
            this.transport = transports.apply(name);
            this.backend = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            backend.createContext("/slow", exchange -> {
                slowCallsStarted.incrementAndGet();
                try {
                    Thread.sleep(8_000); // a backend that answers only after every timeout of the tests
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                exchange.sendResponseHeaders(200, -1);
                exchange.close();
            });
            backend.createContext("/", exchange -> {
                String xfcc = exchange.getRequestHeaders().getFirst("x-forwarded-client-cert");
                backendSawXfcc.add(String.valueOf(xfcc));
                // path: the request target as received; view: the path this server routes on (decoded, as is).
                byte[] body = ("cluster=" + name + "\nxfcc=" + xfcc + "\ncaller-header="
                        + exchange.getRequestHeaders().getFirst("x-isthmus-caller") + "\npath="
                        + exchange.getRequestURI() + "\nview=" + exchange.getRequestURI().getPath() + "\n")
                        .getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            });
            backendThreads = java.util.concurrent.Executors.newFixedThreadPool(4);
            backend.setExecutor(backendThreads);
            backend.start();
        }

        X509SvidVerifier verifier() {
            return new X509SvidVerifier(pki.roots(), td -> bundles.get().bundleFor(td), Clock.systemUTC(),
                    Duration.ofSeconds(30));
        }

        void start() {
            ProxyTls tls = ProxyTls.create(() -> gateway, verifier(), t -> bundles.get().bundleFor(t), td);
            ProxyMetrics metrics = new ProxyMetrics(meters);
            Map<TrustDomain, String> names = new LinkedHashMap<>();
            clusters.values().forEach(c -> names.put(c.td, c.name));
            telemetry = new Telemetry(new ClusterDirectory(name, names, 500), Optional.of(new JsonAccessLog(
                    lines -> accessLog.addAll(lines), meters, 10_000)), HopTracer.OFF, Clock.systemUTC());
            StaticBackends local = new StaticBackends(Map.of(PAYMENTS.host(), backend.getAddress()), false);
            io.isthmus.proxy.ingress.LocalBackends withExtras = (n, port) -> {
                InetSocketAddress extra = extraBackends.get(n.host());
                return extra != null ? Optional.of(extra) : local.resolve(n, port);
            };
            ingress = new IngressServer(transport, settings, tls, () -> gateway, withExtras, recordingPolicy,
                    (request, decision) -> {
                        logged.add(decision);
                        audited.add(Map.entry(request, decision));
                    }, metrics, GatewayIdentities.conventional(clusters.values().stream().map(c -> c.td).toList()),
                    new PathNormalizer(pathNormalization), telemetry);
            // Every gateway routes by server name: connections without a route name must see no difference.
            io.isthmus.proxy.sni.RouteMetrics routes = new io.isthmus.proxy.sni.RouteMetrics(meters);
            ingress.entry(new io.isthmus.proxy.sni.IngressSniRouting(settings.meshSuffix(),
                    exportsOf(name), withExtras, new io.isthmus.proxy.tunnel.Tunnels(transport, settings), routes,
                    telemetry, settings.headerTimeout(), "ingress"));
            ingress.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            egress = new EgressServer(transport, settings, tls, resolver(), locality, tokens, metrics, telemetry);
            egress.entry(new io.isthmus.proxy.sni.EgressSniRouting(settings.meshSuffix(), resolver(),
                    locality, new io.isthmus.proxy.tunnel.Tunnels(transport, settings), routes,
                    telemetry, settings.headerTimeout())::newHandler);
            egress.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            this.tls = tls;
        }

        void stopGateway() {
            ingress.close();
            egress.close();
            telemetry.accessLog().ifPresent(JsonAccessLog::close);
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

    Federation(ProxySettings settings, PathNormalization pathNormalization,
            java.util.function.Function<String, NettyTransport> transports) {
        this.settings = settings;
        this.pathNormalization = pathNormalization;
        this.transports = transports;
        registryCaches.defineConfiguration("registry", new ConfigurationBuilder().build());
        // a only reads the registry here (it exports nothing), so the ingress it would announce is never used.
        registryOfA = new InfinispanRegistry(registryCache(), identity("a", "127.0.0.1", 15443, new Locality("eu", "eu-1a")),
                Clock.systemUTC());
    }

    static Federation start(ProxySettings settings) throws IOException {
        return start(settings, PathNormalization.DEFAULT);
    }

    static Federation start(ProxySettings settings, PathNormalization pathNormalization) throws IOException {
        return start(settings, pathNormalization, name -> NettyTransport.create(1, "gw-" + name));
    }

    /** A federation whose gateways use the transports {@code transports} makes (by cluster name). */
    static Federation start(ProxySettings settings, PathNormalization pathNormalization,
            java.util.function.Function<String, NettyTransport> transports) throws IOException {
        Federation f = new Federation(settings, pathNormalization, transports);
        for (String n : List.of("a", "b", "c")) {
            f.clusters.put(n, f.new Cluster(n));
        }
        List<TrustBundle> list = new ArrayList<>();
        for (Cluster c : f.clusters.values()) {
            list.add(new TrustBundle(c.td, List.of(c.ca.certificate()), List.of(), 1, Optional.empty()));
        }
        f.bundles.set(BundleSet.of(list));
        for (Cluster c : f.clusters.values()) {
            c.start();
        }
        // payments is exported by b (same region as a: nearer) and c (elsewhere).
        f.export(f.cluster("b"), PAYMENTS, new ServicePort("http", 80, Protocol.HTTP));
        f.export(f.cluster("c"), PAYMENTS, new ServicePort("http", 80, Protocol.HTTP));
        return f;
    }

    Cluster cluster(String name) {
        return clusters.get(name);
    }

    private org.infinispan.Cache<String, String> registryCache() {
        return registryCaches.getCache("registry");
    }

    private ClusterIdentity identity(String cluster, String ingressHost, int ingressPort, Locality locality) {
        return new ClusterIdentity(cluster, new IngressAddress(ingressHost, ingressPort), locality,
                Duration.ofMinutes(5), MeshName.DEFAULT_SUFFIX);
    }

    /** {@code cluster} exports {@code name} (one ready endpoint), with its real ingress address and locality. */
    ExportedService export(Cluster cluster, MeshName name, ServicePort... ports) {
        return exportAs(cluster.name, cluster.ingress.address().getPort(), cluster.locality, name, ports);
    }

    /**
     * Cluster {@code cluster} writes an export of {@code name} that announces {@code ingressPort} on loopback and
     * {@code locality}: for entries whose address is stale or points elsewhere, and for clusters whose gateway is down.
     */
    ExportedService exportAs(String cluster, int ingressPort, Locality locality, MeshName name, ServicePort... ports) {
        return exportAt(cluster, "127.0.0.1", ingressPort, locality, name, ports);
    }

    /** Like {@link #exportAs}, announcing the ingress by {@code ingressHost} (a name the gateways must resolve). */
    ExportedService exportAt(String cluster, String ingressHost, int ingressPort, Locality locality, MeshName name,
            ServicePort... ports) {
        InfinispanRegistry writer = writers.computeIfAbsent(identity(cluster, ingressHost, ingressPort, locality),
                id -> new InfinispanRegistry(registryCache(), id, Clock.systemUTC()));
        return writer.export(new ExportSpec(new ServiceKey(cluster, name.namespace(), name.service()), List.of(ports),
                List.of(), 1));
    }

    /** Routable exports of the name, nearest first: what a's egress sees. */
    List<ExportedService> exportsOf(MeshName name) {
        return resolver().resolve(name, cluster("a").locality);
    }

    /** The registry's resolver over a's view of the registry: clusters a, b, c, d and their trust domains. */
    ServiceResolver resolver() {
        Map<String, TrustDomain> tds = new LinkedHashMap<>();
        for (String n : List.of("a", "b", "c", DEAD)) {
            tds.put(n, new TrustDomain(n + ".acme.internal"));
        }
        return new RegistryResolver(registryOfA, Clock.systemUTC(), tds);
    }

    /** What {@code cluster} exports, read from the shared registry as its own ingress would. */
    io.isthmus.proxy.sni.LocalExports exportsOf(String cluster) {
        return name -> registryOfA.get(new ServiceKey(cluster, name.namespace(), name.service()))
                .map(ExportedService::ports);
    }

    /** Every cluster's ingress decides with the policies of {@code yaml} from now on. */
    void usePolicies(String yaml) {
        policy.replace(TestPolicies.set(yaml));
    }

    /** Exports {@code name} from cluster b (gRPC port 9090, near a), served by a backend on loopback {@code port}. */
    void exportGrpcFromB(MeshName name, int port) {
        extraBackends.put(name.host(), new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        export(cluster("b"), name, new ServicePort("grpc", 9090, Protocol.GRPC));
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
        registryCaches.stop();
    }
}
