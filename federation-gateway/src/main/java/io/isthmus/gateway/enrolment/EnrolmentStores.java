package io.isthmus.gateway.enrolment;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.infinispan.manager.EmbeddedCacheManager;
import org.jboss.logging.Logger;

import io.isthmus.gateway.config.GatewayConfig;

/**
 * The replicated enrolment stores, defined on the registry's cache manager: replicated among this cluster's gateway
 * replicas over the registry's local cluster (mutual TLS that admits only this gateway's identity), with no backup
 * sites; local to this gateway when replication is off ({@code isthmus.registry.enabled=false}). Started eagerly, so
 * that the caches exist before readiness, not at the first enrolment.
 */
@ApplicationScoped
@io.quarkus.runtime.Startup
public class EnrolmentStores {
    private static final Logger LOG = Logger.getLogger(EnrolmentStores.class);

    private final EmbeddedCacheManager manager;
    private final JoinTokenStore tokens;
    private final VmIdentityStore identities;
    private final org.infinispan.Cache<String, String> rateBuckets;
    private final org.infinispan.Cache<String, String> registrationEntries;
    private final ReplicaCutOff cutOff;

    @Inject
    public EnrolmentStores(EnrolmentConfig config, GatewayConfig gateway, EmbeddedCacheManager manager,
            java.time.Clock clock) {
        java.nio.file.Path storeDir = EnrolmentCluster.storeDir(config, gateway);
        this.manager = manager;
        EnrolmentCluster.defineCaches(manager, storeDir);
        org.infinispan.Cache<String, String> tokenCache = manager.getCache(InfinispanJoinTokenStore.CACHE);
        ReplicaAvailability.watchTokens(tokenCache);
        this.cutOff = ReplicaCutOff.watch(tokenCache, clock,
                config.cutOffGrace().orElse(EnrolmentConfig.vmSvidTtl(config, gateway.ca().svidTtl())));
        this.tokens = new InfinispanJoinTokenStore(tokenCache);
        this.identities = new InfinispanVmIdentityStore(manager.getCache(InfinispanVmIdentityStore.CACHE));
        this.rateBuckets = manager.getCache(SharedRateLimiter.CACHE);
        this.registrationEntries = manager.getCache(EnrolmentCluster.REGISTRATION_ENTRIES_CACHE);
        ReplicaAvailability.watchEntries(registrationEntries);
        LOG.infof("enrolment state replicated in cluster %s (members %s)", manager.getClusterName(),
                manager.getMembers());
    }

    /** The cache manager replicated among this cluster's gateway replicas (for other replica-local state). */
    public EmbeddedCacheManager cacheManager() {
        return manager;
    }

    /** Since when this replica has been cut off from the majority of its cluster's replicas, if it is. */
    public ReplicaCutOff cutOff() {
        return cutOff;
    }

    public JoinTokenStore tokens() {
        return tokens;
    }

    public VmIdentityStore identities() {
        return identities;
    }

    /** The enrolment rate buckets, shared by this cluster's replicas ({@link SharedRateLimiter}). */
    public org.infinispan.Cache<String, String> rateBuckets() {
        return rateBuckets;
    }

    /**
     * The VM agents' registration entries, replicated like the tokens and identities (persisted with them); read-only
     * on a replica that does not see a majority of the cluster's replicas.
     */
    public org.infinispan.Cache<String, String> registrationEntries() {
        return registrationEntries;
    }
}
