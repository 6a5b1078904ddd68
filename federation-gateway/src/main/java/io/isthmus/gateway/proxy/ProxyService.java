package io.isthmus.gateway.proxy;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.event.Reception;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.isthmus.gateway.config.ConfigException;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.membership.MembershipView;
import io.isthmus.gateway.telemetry.TelemetryService;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.proxy.ProxySettings;
import io.isthmus.proxy.authn.TokenAuthenticator;
import io.isthmus.proxy.authz.Authorizer;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.DecisionLog;
import io.isthmus.proxy.authz.DenyReason;
import io.isthmus.proxy.authz.vouch.GatewayIdentities;
import io.isthmus.proxy.egress.EgressServer;
import io.isthmus.proxy.http.path.PathNormalization;
import io.isthmus.proxy.http.path.PathNormalizer;
import io.isthmus.proxy.ingress.IngressServer;
import io.isthmus.proxy.ingress.LocalBackends;
import io.isthmus.proxy.ingress.StaticBackends;
import io.isthmus.proxy.l4.TcpListenerSpec;
import io.isthmus.proxy.l4.TcpListeners;
import io.isthmus.proxy.metrics.ProxyMetrics;
import io.isthmus.proxy.outlier.OutlierPolicy;
import io.isthmus.proxy.sni.EgressSniRouting;
import io.isthmus.proxy.sni.IngressSniRouting;
import io.isthmus.proxy.sni.LocalExports;
import io.isthmus.proxy.sni.RouteMetrics;
import io.isthmus.proxy.telemetry.Telemetry;
import io.isthmus.proxy.tls.ProxyTls;
import io.isthmus.proxy.transport.NettyTransport;
import io.isthmus.proxy.tunnel.Tunnels;
import io.isthmus.registry.Locality;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Registry;
import io.isthmus.registry.ServiceResolver;
import io.isthmus.trust.endpoint.ConnectionLimits;
import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.runtime.TrustSnapshot;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;

/**
 * Runs the east-west data plane inside the gateway: the ingress (mTLS from peer gateways) and the egress (local
 * callers), both presenting the gateway SVID of the {@link TrustService} (renewals apply to the next handshake, no
 * restart) and verifying peers against its live bundles (a bundle change applies to the next handshake).
 *
 * <p>Collaborators come from other parts of the gateway and are optional here: the destination policy
 * ({@link Authorizer}, {@link DecisionLog}), the registry ({@link ServiceResolver}) and the service-account token
 * check ({@link TokenAuthenticator}). Without an authorizer every federated request is denied (default deny);
 * without a resolver {@code isthmus.proxy.routes} is used; without a token authenticator only SVID callers pass.
 */
@ApplicationScoped
@Startup
public class ProxyService {
    private static final Logger LOG = Logger.getLogger(ProxyService.class);

    private final NettyTransport transport;
    private final IngressServer ingress;
    private final EgressServer egress;
    private final TcpListeners tcpListeners;
    private volatile TrustSnapshot lastTrust;

    @Inject
    public ProxyService(ProxyConfig config, GatewayConfig gateway, TrustService trust, MeterRegistry meters,
            TelemetryService telemetryService, Instance<Authorizer> authorizers,
            Instance<DecisionLog> decisionLogs, Instance<ServiceResolver> resolvers,
            Instance<TokenAuthenticator> tokenAuthenticators, Instance<LocalBackends> dynamicBackends,
            Instance<Registry> registries) {
        ProxySettings settings = settings(config);
        TrustRuntime runtime = trust.runtime();
        this.lastTrust = runtime.snapshot();
        ProxyMetrics metrics = new ProxyMetrics(meters);
        Telemetry telemetry = telemetryService.telemetry();
        RouteMetrics routes = new RouteMetrics(meters);
        ProxyTls tls = ProxyTls.create(runtime, runtime.verifier(), runtime, runtime.trustDomain());
        this.transport = NettyTransport.create(config.ioThreads(), "isthmus-proxy");
        try {
            // Membership decides who is a gateway once a document is held (static gateway-ids are then not used).
            GatewayIdentities vouchers = trust.membership().current().map(h -> MembershipView.gateways(h.membership(),
                    trust.membership().selfName(), runtime.current().id())).orElseGet(() -> gateways(gateway));
            if (config.ingress().enabled()) {
                Authorizer authorizer = authorizer(authorizers);
                DecisionLog log = decisionLogs.isResolvable() ? decisionLogs.get() : (request, decision) -> {
                };
                LocalBackends backends = backends(config, dynamicBackends);
                ingress = new IngressServer(transport, settings, tls, runtime, backends, authorizer, log, metrics,
                        vouchers, paths(config), telemetry);
                trust.membership().addListener(change -> ingress.gateways(MembershipView.gateways(
                        change.next().membership(), change.self(), runtime.current().id())));
                if (config.routeByServerName()) {
                    ingress.entry(new IngressSniRouting(settings.meshSuffix(), registries.isResolvable()
                            ? LocalExports.of(registries.get()) : LocalExports.none(), backends,
                            new Tunnels(transport, settings), routes, telemetry, settings.headerTimeout(), "ingress"));
                }
                ingress.start(new InetSocketAddress(config.ingress().host(), config.ingress().port()));
            } else {
                ingress = null;
            }
            if (config.egress().enabled()) {
                ServiceResolver resolver;
                if (resolvers.isResolvable()) {
                    resolver = resolvers.get();
                } else {
                    LOG.infof("no registry resolver deployed: the egress routes by isthmus.proxy.routes (%d names)",
                            config.routes().size());
                    resolver = new StaticRoutes(config.routes(), config.meshSuffix());
                }
                TokenAuthenticator tokens = tokenAuthenticators.isResolvable() ? tokenAuthenticators.get() : null;
                if (tokens == null) {
                    LOG.warn("no service-account token authenticator deployed: the egress accepts SVID callers only");
                }
                egress = new EgressServer(transport, settings, tls, resolver, locality(config), tokens, metrics,
                        telemetry);
                if (config.routeByServerName()) {
                    egress.entry(new EgressSniRouting(settings.meshSuffix(), resolver, locality(config),
                            new Tunnels(transport, settings), routes, telemetry, settings.headerTimeout())::newHandler);
                }
                egress.start(new InetSocketAddress(config.egress().host(), config.egress().port()));
                tcpListeners = new TcpListeners(transport, settings, tls, resolver, locality(config), metrics,
                        telemetry, egress.outliers());
                tcpListeners.start(tcpListenerSpecs(config, runtime.trustDomain(), vouchers));
            } else {
                egress = null;
                tcpListeners = null;
                if (!config.tcpListeners().isEmpty()) {
                    LOG.warnf("isthmus.proxy.tcp-listeners are ignored: the egress is disabled");
                }
            }
        } catch (RuntimeException e) {
            transport.close();
            throw e;
        }
    }

    private static Authorizer authorizer(Instance<Authorizer> authorizers) {
        if (authorizers.isResolvable()) {
            return authorizers.get();
        }
        LOG.warn("no authorization policy engine deployed: the ingress denies every federated request");
        return request -> new Decision.Denied(DenyReason.NO_MATCHING_ALLOW, "", "",
                "no authorization policy engine is deployed on this gateway (default deny)", List.of());
    }

    /**
     * Who may vouch for callers at the ingress: this cluster's own gateway identity, and each peer's
     * {@code gateway-ids} (by default its conventional gateway identity). Fails startup naming the key of a bad ID.
     */
    static GatewayIdentities gateways(GatewayConfig config) {
        Map<TrustDomain, Set<SpiffeId>> ids = new LinkedHashMap<>();
        TrustDomain own;
        try {
            own = TrustDomain.parse(config.trustDomain());
            ids.put(own, new HashSet<>(Set.of(SpiffeId.ofServiceAccount(own, config.identity().namespace(),
                    config.identity().serviceAccount()))));
        } catch (IllegalArgumentException e) {
            throw new ConfigException("isthmus.identity", e.getMessage(), e);
        }
        config.peers().forEach((name, peer) -> {
            String key = "isthmus.peers." + name + ".gateway-ids";
            try {
                TrustDomain td = TrustDomain.parse(peer.trustDomain());
                Set<SpiffeId> peerIds = new HashSet<>();
                for (String id : peer.gatewayIds().orElse(List.of(GatewayIdentities.conventional(td).toString()))) {
                    SpiffeId parsed = SpiffeId.parse(id.trim());
                    if (!parsed.memberOf(td)) {
                        throw new IllegalArgumentException("'" + id + "' is not in the peer's trust domain " + td
                                + "; list the SPIFFE IDs of " + name + "'s gateways, e.g. "
                                + GatewayIdentities.conventional(td));
                    }
                    peerIds.add(parsed);
                }
                ids.computeIfAbsent(td, t -> new HashSet<>()).addAll(peerIds);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(key, e.getMessage(), e);
            }
        });
        return new GatewayIdentities(ids);
    }

    /** The TCP listeners of {@code isthmus.proxy.tcp-listeners}; a bad one fails startup naming its key. */
    static List<TcpListenerSpec> tcpListenerSpecs(ProxyConfig config, TrustDomain local, GatewayIdentities gateways) {
        List<TcpListenerSpec> specs = new java.util.ArrayList<>();
        config.tcpListeners().forEach((name, l) -> {
            try {
                specs.add(TcpListenerSpec.parse(name, l.service(), l.port(), l.bind(), l.plaintextCaller(),
                        config.meshSuffix(), local, gateways));
            } catch (TcpListenerSpec.InvalidSpecException e) {
                throw new ConfigException("isthmus.proxy.tcp-listeners." + name + "." + e.field(), e.getMessage(), e);
            }
        });
        return specs;
    }

    /** The ingress's path normalizer as configured; {@code isthmus authz explain} uses the same one. */
    public static PathNormalizer paths(ProxyConfig config) {
        try {
            return new PathNormalizer(PathNormalization.parse(config.pathNormalization()));
        } catch (IllegalArgumentException e) {
            throw new ConfigException("isthmus.proxy.path-normalization", e.getMessage(), e);
        }
    }

    static ProxySettings settings(ProxyConfig c) {
        OutlierPolicy outliers = outliers(c.outlier());
        if (c.maxBodySize() < 0) {
            throw new ConfigException("isthmus.proxy.max-body-size", "must not be negative (0 means no limit), was "
                    + c.maxBodySize());
        }
        ConnectionLimits ingress = connectionLimits("isthmus.proxy.ingress", c.ingress().maxConnectionsPerClient(),
                c.ingress().maxConnections());
        ConnectionLimits egress = connectionLimits("isthmus.proxy.egress", c.egress().maxConnectionsPerClient(),
                c.egress().maxConnections());
        try {
            return new ProxySettings(c.meshSuffix(), c.connectTimeout(), c.idleTimeout(), c.headerTimeout(),
                    c.requestTimeout(), c.maxHeaderSize(), c.maxBodySize(), outliers, c.drainTimeout(), ingress,
                    egress);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("isthmus.proxy", e.getMessage(), e);
        }
    }

    /** A listener's connection limits; a bad value fails startup naming its key. */
    static ConnectionLimits connectionLimits(String prefix, int perClient, int total) {
        try {
            return new ConnectionLimits(prefix, perClient, total, Duration.ofMinutes(1));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(prefix, e.getMessage(), e);
        }
    }

    /** The outlier policy; a bad value fails startup naming its key. */
    static OutlierPolicy outliers(ProxyConfig.Outlier o) {
        String prefix = "isthmus.proxy.outlier.";
        if (o.consecutiveFailures() < 1) {
            throw new ConfigException(prefix + "consecutive-failures", "must be at least 1 (a cluster is skipped after "
                    + "that many failed connects in a row), was " + o.consecutiveFailures());
        }
        if (o.baseEjection().isNegative() || o.baseEjection().isZero()) {
            throw new ConfigException(prefix + "base-ejection", "must be positive, was " + o.baseEjection());
        }
        if (o.maxEjection().compareTo(o.baseEjection()) < 0) {
            throw new ConfigException(prefix + "max-ejection", o.maxEjection() + " is shorter than "
                    + prefix + "base-ejection " + o.baseEjection());
        }
        return new OutlierPolicy(o.consecutiveFailures(), o.baseEjection(), o.maxEjection());
    }

    private static StaticBackends backends(ProxyConfig config) {
        Map<String, InetSocketAddress> map = new HashMap<>();
        config.backends().forEach((host, target) -> {
            String key = "isthmus.proxy.backends.\"" + host + "\"";
            MeshName name = MeshName.parseHost(host, config.meshSuffix()).orElseThrow(() -> new ConfigException(key,
                    "not a mesh name <service>.<namespace>." + config.meshSuffix()));
            try {
                map.put(name.host(), StaticBackends.parseAddress(target.trim()));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(key, e.getMessage());
            }
        });
        return new StaticBackends(map, config.kubernetesBackends());
    }

    /** Dynamic backends (VM services registered by agents), when deployed, first; then the configured ones. */
    private static LocalBackends backends(ProxyConfig config, Instance<LocalBackends> dynamic) {
        StaticBackends configured = backends(config);
        if (!dynamic.isResolvable()) {
            return configured;
        }
        LocalBackends first = dynamic.get();
        return (name, port) -> first.resolve(name, port).or(() -> configured.resolve(name, port));
    }

    private static Locality locality(ProxyConfig config) {
        return new Locality(config.locality().region().orElse(""), config.locality().zone().orElse(""));
    }

    /** The bound ingress address (tests bind port 0), or empty when the ingress is disabled. */
    public Optional<InetSocketAddress> ingressAddress() {
        return Optional.ofNullable(ingress).map(IngressServer::address);
    }

    /** The egress's TCP listeners and where they are bound (empty when the egress is disabled). */
    public List<TcpListeners.Bound> tcpListeners() {
        return tcpListeners == null ? List.of() : tcpListeners.bound();
    }

    /** The bound egress address, or empty when the egress is disabled. */
    public Optional<InetSocketAddress> egressAddress() {
        return Optional.ofNullable(egress).map(EgressServer::address);
    }

    /**
     * After the bundles or the roots changed (fired on the thread that swapped the snapshot), re-verify the peers of
     * open connections: a revoked intermediate also ends connections made before its removal, a retired one drains
     * them. Non-blocking. Only once this bean exists: a peer bundle fetched during start-up fires on a sync thread,
     * where creating the bean failed (its config's class loader is not that thread's) and the listener logged a
     * stack trace; a bean created later reads the trust in force anyway.
     */
    void trustChanged(@Observes(notifyObserver = Reception.IF_EXISTS) TrustSnapshot snapshot) {
        if (snapshot.sameTrustAs(lastTrust)) {
            return;
        }
        lastTrust = snapshot;
        if (ingress != null) {
            ingress.revalidate();
        }
        if (egress != null) {
            egress.revalidate();
            tcpListeners.revalidate();
        }
    }

    @PreDestroy
    void stop() {
        if (tcpListeners != null) {
            tcpListeners.close();
        }
        if (egress != null) {
            egress.close();
        }
        if (ingress != null) {
            ingress.close();
        }
        transport.close();
    }
}
