package io.isthmus.gateway.authz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.proxy.authn.AuthnFailure;
import io.isthmus.proxy.authn.AuthnResult;
import io.isthmus.proxy.authn.TokenAuthenticator;
import io.isthmus.proxy.authz.Authorizer;
import io.isthmus.proxy.authz.DecisionLog;
import io.isthmus.gateway.config.ConfigException;
import io.isthmus.proxy.authz.audit.AuditSink;
import io.isthmus.proxy.authz.audit.ClusterNames;
import io.isthmus.proxy.authz.audit.FileAuditSink;
import io.isthmus.proxy.authz.audit.JsonDecisionLog;
import io.isthmus.proxy.authz.audit.LoggerAuditSink;
import io.isthmus.proxy.authz.policy.source.PolicyFileWatcher;
import io.isthmus.proxy.authz.policy.source.PolicyStore;
import io.isthmus.proxy.authz.policy.source.ReloadStatus;
import io.isthmus.trust.spiffe.TrustDomain;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;

/**
 * Owns authorization and caller authentication in the gateway, and produces the beans the data plane injects:
 * {@link Authorizer} (the destination's policy, default deny), {@link DecisionLog} (JSON audit log and counters)
 * and {@link TokenAuthenticator} (TokenReview). Starts the configured policy sources at startup.
 *
 * <p>Metrics: {@code isthmus_authz_policies{source}} (policies in force), {@code isthmus_authz_policies_rejected
 * {source}} (documents refused by the latest load), {@code isthmus_authz_policy_reloads_total{source,result}}.
 */
@ApplicationScoped
@Startup
public class AuthzService {
    private static final Logger LOG = Logger.getLogger(AuthzService.class);
    /** A review in progress at stop finishes within this (the TokenReview timeout is 5 s by default). */
    private static final Duration TOKEN_REVIEW_STOP_GRACE = Duration.ofSeconds(2);

    private final AuthzConfig config;
    private final PolicyStore store;
    private final JsonDecisionLog decisionLog;
    private final TokenAuthenticator tokenAuthenticator;
    private final Map<String, ReloadStatus> statuses = new ConcurrentHashMap<>();
    private final MeterRegistry meters;
    private PolicyFileWatcher fileWatcher;
    private PolicyCrdSource crdSource;
    private final RecentDenials recentDenials;

    @Inject
    public AuthzService(AuthzConfig config, GatewayConfig gateway, Clock clock, MeterRegistry meters,
            Instance<KubernetesClient> kubernetes, RecentDenials recentDenials) {
        this.config = config;
        this.recentDenials = recentDenials;
        this.meters = meters;
        this.store = new PolicyStore(config.rootNamespace());
        this.decisionLog = new JsonDecisionLog(clock, auditSink(config, clock), meters,
                config.auditLog().queueCapacity(), gateway.clusterName(), clusterNames(gateway));
        if (config.observe().isPresent() && !config.observe().get().isEmpty()) {
            store.update(ObserveScopes.SOURCE, ObserveScopes.policies(config.observe().get(), config.rootNamespace()));
            LOG.infof("authorization: observe mode by configuration for %s: requests there are allowed and logged "
                    + "with what the policies would decide", config.observe().get());
        }

        boolean file = config.source() != AuthzConfig.Source.KUBERNETES;
        boolean crd = config.source() != AuthzConfig.Source.FILE;
        if (file) {
            gauge(PolicyFileWatcher.SOURCE);
            if (config.policyFile().isPresent()) {
                fileWatcher = new PolicyFileWatcher(config.policyFile().get(), store, clock,
                        config.policyFilePollInterval(), s -> observe(s));
                fileWatcher.start();
            } else {
                LOG.warnf("isthmus.authz.source=%s but isthmus.authz.policy-file is not set: the file contributes "
                        + "no policy", config.source().name().toLowerCase());
            }
        }
        if (crd) {
            gauge(PolicyCrdSource.SOURCE);
            crdSource = new PolicyCrdSource(kubernetes.get(), store, clock, true, s -> observe(s));
            crdSource.start();
        }
        this.tokenAuthenticator = tokenAuthenticator(config, gateway, clock, kubernetes);
        LOG.infof("authorization: default deny for federated traffic; policy source %s, root namespace %s, "
                + "audit log %s", config.source().name().toLowerCase(), config.rootNamespace(),
                config.auditLog().path().map(Object::toString).orElse("category " + LoggerAuditSink.CATEGORY));
    }

    /** This cluster and each peer by trust domain, for the decision log's source and destination clusters. */
    static ClusterNames clusterNames(GatewayConfig gateway) {
        Map<TrustDomain, String> names = new HashMap<>();
        gateway.peers().forEach((name, peer) -> trustDomain(peer.trustDomain()).ifPresent(td -> names.put(td, name)));
        gateway.clusterName().ifPresent(own -> trustDomain(gateway.trustDomain()).ifPresent(td -> names.put(td, own)));
        return ClusterNames.of(names);
    }

    /** Empty for a malformed one: the trust plane refuses it at startup, naming its key. */
    private static Optional<TrustDomain> trustDomain(String text) {
        try {
            return Optional.of(TrustDomain.parse(text));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static AuditSink auditSink(AuthzConfig config, Clock clock) {
        if (config.auditLog().path().isEmpty()) {
            return new LoggerAuditSink();
        }
        AuthzConfig.AuditLog log = config.auditLog();
        try {
            if (log.maxFiles() < 1) {
                throw new ConfigException("isthmus.authz.audit-log.max-files", log.maxFiles()
                        + " keeps no rotated file; use 1 or more, or rotate=false to leave rotation to logrotate");
            }
            FileAuditSink.Rotation rotation = !log.rotate() ? FileAuditSink.Rotation.NONE
                    : new FileAuditSink.Rotation(log.maxSize().asLongValue(), log.maxAge(), log.maxFiles());
            return new FileAuditSink(log.path().get(), rotation, clock);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("isthmus.authz.audit-log", e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("isthmus.authz.audit-log.path: cannot open "
                    + config.auditLog().path().get() + " for appending: " + e.getMessage(), e);
        }
    }

    private TokenAuthenticator tokenAuthenticator(AuthzConfig config, GatewayConfig gateway, Clock clock,
            Instance<KubernetesClient> kubernetes) {
        AuthzConfig.TokenReview tr = config.tokenReview();
        if (!tr.enabled() || !kubernetes.isResolvable()) {
            String why = !tr.enabled() ? "token authentication is disabled (isthmus.authz.token-review.enabled=false)"
                    : "no Kubernetes client is available for TokenReview";
            return token -> CompletableFuture.completedFuture(
                    new AuthnResult.Refused(AuthnFailure.TOKEN_REVIEW_UNAVAILABLE, why + "; authenticate with an SVID"));
        }
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor reviewThreads = new ThreadPoolExecutor(tr.concurrency(), tr.concurrency(), 30,
                TimeUnit.SECONDS, new LinkedBlockingQueue<>(1024), r -> {
                    Thread t = new Thread(r, "isthmus-token-review-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        reviewThreads.allowCoreThreadTimeOut(true);
        return new TokenReviewAuthenticator(kubernetes.get(), new TrustDomain(gateway.trustDomain()),
                tr.audiences().orElse(List.of()), tr.cacheTtl(), tr.negativeCacheTtl(), tr.cacheSize(), tr.timeout(),
                clock, reviewThreads, meters);
    }

    private void gauge(String source) {
        Gauge.builder("isthmus.authz.policies", statuses, m -> policies(m.get(source)))
                .description("AuthorizationPolicies in force, by source").tag("source", source).register(meters);
        Gauge.builder("isthmus.authz.policies.rejected", statuses, m -> rejected(m.get(source)))
                .description("Policy documents refused by the latest load, by source").tag("source", source)
                .register(meters);
    }

    private static double policies(ReloadStatus s) {
        return s == null ? 0 : s.policies();
    }

    private static double rejected(ReloadStatus s) {
        return s == null ? 0 : s.lastErrors().size();
    }

    private void observe(ReloadStatus s) {
        statuses.put(s.source(), s);
        Counter.builder("isthmus.authz.policy.reloads").description("Policy loads by source and result")
                .tag("source", s.source()).tag("result", s.degraded() ? "rejected" : "applied").register(meters)
                .increment();
    }

    /** The latest load status of each policy source. */
    public Map<String, ReloadStatus> statuses() {
        return Map.copyOf(statuses);
    }

    public PolicyStore store() {
        return store;
    }

    public Optional<PolicyCrdSource> crdSource() {
        return Optional.ofNullable(crdSource);
    }

    public Optional<PolicyFileWatcher> fileWatcher() {
        return Optional.ofNullable(fileWatcher);
    }

    public AuthzConfig config() {
        return config;
    }

    @Produces
    @ApplicationScoped
    Authorizer authorizer() {
        return store.authorizer();
    }

    @Produces
    @ApplicationScoped
    DecisionLog decisionLog() {
        // The federation page's recent denials see every decision the audit log sees.
        return (request, decision) -> {
            decisionLog.record(request, decision);
            recentDenials.record(request, decision);
        };
    }

    @Produces
    @ApplicationScoped
    TokenAuthenticator tokenAuthenticator() {
        return tokenAuthenticator;
    }

    @PreDestroy
    void stop() {
        if (fileWatcher != null) {
            fileWatcher.close();
        }
        if (crdSource != null) {
            crdSource.close();
        }
        if (tokenAuthenticator instanceof TokenReviewAuthenticator reviews) {
            reviews.stop(TOKEN_REVIEW_STOP_GRACE);
        }
        decisionLog.close();
    }
}
