package io.isthmus.gateway.enrolment;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;

import org.infinispan.manager.EmbeddedCacheManager;
import org.jboss.logging.Logger;

import io.isthmus.gateway.config.ConfigException;
import io.isthmus.gateway.config.GatewayConfig;

/**
 * The replicated enrolment stores. If the application has an {@link EmbeddedCacheManager} bean (the registry's,
 * once it exists), the caches are defined on it; until then this bean starts its own clustered manager from
 * {@code isthmus.enrolment.cluster.*} and stops it on shutdown. Started eagerly: joining the JGroups cluster takes
 * seconds, which belongs in startup (before readiness), not in the first enrolment.
 */
@ApplicationScoped
@io.quarkus.runtime.Startup
public class EnrolmentStores {
    private static final Logger LOG = Logger.getLogger(EnrolmentStores.class);

    private final EmbeddedCacheManager manager;
    private final boolean owned;
    private final JoinTokenStore tokens;
    private final VmIdentityStore identities;
    private final org.infinispan.Cache<String, String> rateBuckets;
    private final org.infinispan.Cache<String, String> registrationEntries;

    @Inject
    public EnrolmentStores(EnrolmentConfig config, GatewayConfig gateway, Instance<EmbeddedCacheManager> shared) {
        java.nio.file.Path storeDir = config.cluster().persistent() ? gateway.dataDir().resolve("enrolment") : null;
        if (shared.isResolvable()) {
            this.manager = shared.get();
            this.owned = false;
            EnrolmentCluster.defineCaches(manager, storeDir);
        } else {
            this.manager = EnrolmentCluster.start(membership(config.cluster()), storeDir);
            this.owned = true;
        }
        this.tokens = new InfinispanJoinTokenStore(manager.getCache(InfinispanJoinTokenStore.CACHE));
        this.identities = new InfinispanVmIdentityStore(manager.getCache(InfinispanVmIdentityStore.CACHE));
        this.rateBuckets = manager.getCache(SharedRateLimiter.CACHE);
        this.registrationEntries = manager.getCache(EnrolmentCluster.REGISTRATION_ENTRIES_CACHE);
        LOG.infof("enrolment state replicated in cluster %s (%s cache manager, members %s)",
                manager.getClusterName(), owned ? "own" : "shared", manager.getMembers());
    }

    static EnrolmentCluster.Membership membership(EnrolmentConfig.Cluster c) {
        InetSocketAddress bind;
        try {
            bind = EnrolmentCluster.parseHostPort("isthmus.enrolment.cluster.bind-address",
                    c.bindAddress() + ":" + c.bindPort());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("isthmus.enrolment.cluster.bind-address", e.getMessage(), e);
        }
        List<InetSocketAddress> members = new ArrayList<>();
        for (String m : c.initialMembers().orElse(List.of())) {
            try {
                members.add(EnrolmentCluster.parseHostPort("isthmus.enrolment.cluster.initial-members", m));
            } catch (IllegalArgumentException e) {
                throw new ConfigException("isthmus.enrolment.cluster.initial-members", e.getMessage(), e);
            }
        }
        if (bind.getPort() == 0) {
            // JGroups' static discovery needs a fixed port; a lone replica (tests, development) takes a free one.
            bind = new InetSocketAddress(bind.getAddress(), freePort(bind));
        }
        if (members.isEmpty()) {
            members.add(bind);
        }
        return new EnrolmentCluster.Membership(c.name(), null, bind, members);
    }

    private static int freePort(InetSocketAddress bind) {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, bind.getAddress())) {
            return s.getLocalPort();
        } catch (java.io.IOException e) {
            throw new ConfigException("isthmus.enrolment.cluster.bind-port", "no free port on " + bind.getAddress()
                    + ": " + e.getMessage(), e);
        }
    }

    /** The cache manager replicated among this cluster's gateway replicas (for other replica-local state). */
    public EmbeddedCacheManager cacheManager() {
        return manager;
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

    /** The VM agents' registration entries, replicated like the tokens and identities (persisted with them). */
    public org.infinispan.Cache<String, String> registrationEntries() {
        return registrationEntries;
    }

    @PreDestroy
    void stop() {
        if (owned) {
            manager.stop();
        }
    }
}
