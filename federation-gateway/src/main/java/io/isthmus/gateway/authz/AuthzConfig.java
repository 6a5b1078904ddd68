package io.isthmus.gateway.authz;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/**
 * Authorization of federated traffic and authentication of local callers, prefix {@code isthmus.authz}.
 * Federated traffic is denied unless an ALLOW policy matches; with no policy source at all, everything is denied.
 */
@ConfigMapping(prefix = "isthmus.authz")
public interface AuthzConfig {

    /** Where AuthorizationPolicies come from. */
    enum Source {
        /** Only {@code isthmus.authz.policy-file}. */
        FILE,
        /** Only {@code AuthorizationPolicy} custom resources ({@code security.isthmus.io/v1alpha1}), all namespaces. */
        KUBERNETES,
        /** Both, merged: a policy in either source counts (a DENY in either denies). */
        BOTH
    }

    /**
     * {@code file}, {@code kubernetes} or {@code both}. With {@code kubernetes} or {@code both} the gateway watches
     * the custom resources through the Kubernetes API (RBAC: get, list, watch on authorizationpolicies; update on
     * their status).
     */
    @WithDefault("file")
    Source source();

    /**
     * Multi-document YAML file of AuthorizationPolicies, polled for changes. An invalid file is refused as a whole
     * and the previous policies stay in force. Without it (and without custom resources) everything is denied.
     */
    @WithName("policy-file")
    Optional<Path> policyFile();

    /** How often the policy file is checked for changes. */
    @WithName("policy-file-poll-interval")
    @WithDefault("2s")
    Duration policyFilePollInterval();

    /**
     * The mesh's root namespace: policies in it apply to every namespace (like Istio's {@code rootNamespace}).
     */
    @WithName("root-namespace")
    @WithDefault("isthmus-system")
    String rootNamespace();

    /**
     * Scopes in observe mode, set by configuration rather than by a mode policy ({@code spec.mode: OBSERVE}):
     * {@code <namespace>}, {@code <namespace>/<service>}, or {@code *} for the whole mesh. Their requests are allowed
     * and logged with the decision the policies would have made. An entry acts as a mode policy of the same scope:
     * a more specific mode policy (say {@code mode: ENFORCE} on one service) overrides it, and at equal scope
     * ENFORCE wins. Refusals before policy (who may vouch for a caller) always apply.
     */
    Optional<List<String>> observe();

    /** The JSON decision log (audit log): one line per authorization decision, format in docs/decision-log.md. */
    @WithName("audit-log")
    AuditLog auditLog();

    /** Authentication of local callers by Kubernetes service-account tokens (TokenReview API). */
    @WithName("token-review")
    TokenReview tokenReview();

    interface AuditLog {
        /**
         * File the JSON lines are appended to (directories are created). When absent, the lines go to the log
         * category {@code isthmus.authz.audit} at INFO, to be routed with {@code quarkus.log.category}.
         */
        Optional<Path> path();

        /** Lines that may wait for the writer; beyond this, lines are dropped and counted, never blocking traffic. */
        @WithName("queue-capacity")
        @WithDefault("65536")
        int queueCapacity();

        /**
         * Whether the gateway rotates the file itself (by {@code max-size} and {@code max-age}, keeping
         * {@code max-files}); false leaves it to logrotate ({@code copytruncate}). Rotated files are named
         * {@code <path>.<UTC time>}; {@code isthmus authz suggest|simulate --log <path>} reads them too.
         */
        @WithDefault("true")
        boolean rotate();

        /** Rotate once the file holds this much. */
        @WithName("max-size")
        @WithDefault("100M")
        MemorySize maxSize();

        /** Rotate once the file is this old (counted from its creation). */
        @WithName("max-age")
        @WithDefault("24h")
        Duration maxAge();

        /** Rotated files kept; older ones are deleted. */
        @WithName("max-files")
        @WithDefault("7")
        int maxFiles();
    }

    interface TokenReview {
        /**
         * Whether callers may authenticate with a projected service-account token. When false, every token is
         * refused with {@code token-review-unavailable} (callers must use their SVID).
         */
        @WithDefault("true")
        boolean enabled();

        /**
         * Audiences a token must be issued for (TokenReview {@code spec.audiences}), e.g. {@code isthmus}. Empty:
         * the API server's own audience. Set it, so that a token meant for another service cannot be replayed here.
         */
        Optional<List<String>> audiences();

        /** How long a successful review is cached; never longer than the token's own {@code exp}. */
        @WithName("cache-ttl")
        @WithDefault("5m")
        Duration cacheTtl();

        /** How long a refused token is cached, so a caller retrying a bad token does not hammer the API server. */
        @WithName("negative-cache-ttl")
        @WithDefault("10s")
        Duration negativeCacheTtl();

        /** Most tokens kept in the cache (least recently used are evicted). */
        @WithName("cache-size")
        @WithDefault("10000")
        int cacheSize();

        /** TokenReview calls that may run at once (they run off the event loop). */
        @WithDefault("4")
        int concurrency();

        /** A review that takes longer fails with {@code token-review-unavailable}. */
        @WithDefault("5s")
        Duration timeout();
    }
}
