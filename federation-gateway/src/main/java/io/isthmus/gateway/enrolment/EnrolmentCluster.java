package io.isthmus.gateway.enrolment;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;

import org.infinispan.Cache;
import org.infinispan.configuration.cache.CacheMode;
import org.infinispan.configuration.cache.Configuration;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.configuration.global.GlobalConfigurationBuilder;
import org.infinispan.manager.DefaultCacheManager;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.remoting.transport.jgroups.JGroupsTransport;

/**
 * Builds the replicated caches the enrolment state lives in, on an embedded Infinispan whose replicas find each
 * other over JGroups TCP with a static member list (TCPPING). Used when no shared {@code EmbeddedCacheManager} bean
 * exists (the registry's will replace it; see {@link EnrolmentStores}).
 */
public final class EnrolmentCluster {
    /** Each VM agent's registration entries, set through the admin API and read by the agent (JSON per agent ID). */
    public static final String REGISTRATION_ENTRIES_CACHE = "isthmus-vm-registration-entries";

    private EnrolmentCluster() {
    }

    /** Where this replica listens and whom it contacts first. */
    public record Membership(String clusterName, String nodeName, InetSocketAddress bind, List<InetSocketAddress> members) {
        public Membership {
            members = List.copyOf(members);
        }
    }

    /** A started cache manager joined to {@code membership.clusterName()}. */
    public static EmbeddedCacheManager start(Membership membership) {
        return start(membership, null);
    }

    /**
     * @param storeDir where this replica persists the caches (so a lone replica keeps its tokens and revocations
     *     across a restart); null keeps them in memory only
     */
    public static EmbeddedCacheManager start(Membership membership, java.nio.file.Path storeDir) {
        GlobalConfigurationBuilder global = GlobalConfigurationBuilder.defaultClusteredBuilder();
        // The stack goes in as XML: Infinispan 16 ignores a JGroupsTransport built around our own JChannel and
        // would fall back to its default UDP multicast stack.
        global.transport().clusterName(membership.clusterName())
                .addProperty(JGroupsTransport.CONFIGURATION_XML, stackXml(membership));
        if (membership.nodeName() != null) {
            global.transport().nodeName(membership.nodeName());
        }
        global.jmx().disable();
        DefaultCacheManager manager = new DefaultCacheManager(global.build(), true);
        defineCaches(manager, storeDir);
        return manager;
    }

    /**
     * The cache {@code name} on {@code manager}, defined on first use as replicated among this cluster's replicas only
     * (no backup sites) and held in memory; a manager without transport (a lone gateway) gets a local cache.
     */
    public static <K, V> Cache<K, V> replicatedInMemory(EmbeddedCacheManager manager, String name) {
        if (manager.getCacheConfiguration(name) == null) {
            ConfigurationBuilder b = new ConfigurationBuilder();
            b.clustering().cacheMode(manager.getCacheManagerConfiguration().isClustered() ? CacheMode.REPL_SYNC
                    : CacheMode.LOCAL);
            manager.defineConfiguration(name, b.build());
        }
        return manager.getCache(name);
    }

    /** Defines the enrolment caches on {@code manager}: replicated when it is clustered (idempotent). */
    public static void defineCaches(EmbeddedCacheManager manager, java.nio.file.Path storeDir) {
        // Among this cluster's replicas only (no backup sites: each cluster has its own limit), in memory (a
        // restart of every replica at once forgets the buckets, which is at most one extra burst).
        replicatedInMemory(manager, SharedRateLimiter.CACHE);
        for (String name : List.of(InfinispanJoinTokenStore.CACHE, InfinispanVmIdentityStore.CACHE,
                REGISTRATION_ENTRIES_CACHE)) {
            if (manager.getCacheConfiguration(name) != null) {
                continue;
            }
            ConfigurationBuilder b = new ConfigurationBuilder();
            // A shared manager without transport (registry disabled: a lone gateway) gets local caches.
            boolean clustered = manager.getCacheManagerConfiguration().isClustered();
            b.clustering().cacheMode(clustered ? CacheMode.REPL_SYNC : CacheMode.LOCAL);
            if (storeDir != null) {
                java.nio.file.Path dir = storeDir.toAbsolutePath().resolve(name);
                b.persistence().addSoftIndexFileStore().preload(true)
                        .dataLocation(dir.resolve("data").toString()).indexLocation(dir.resolve("index").toString());
            }
            Configuration config = b.build();
            manager.defineConfiguration(name, config);
        }
    }

    /**
     * TCP transport, static discovery (TCPPING) over the configured members, no multicast anywhere. Nagle's algorithm
     * off ({@code tcp_nodelay}; JGroups 5.5 leaves it on): every write here is a synchronous replication that waits for
     * the other replica's answer, and with Nagle on a small message held back for the peer's delayed ACK made each
     * sequential write take about 44 ms on loopback (0.3-0.7 ms without). The transfer-queue bundler, not JGroups
     * 5.5.1's default per-destination one, for the reason the registry's channels give (ChannelFactory): after a
     * member leaves with messages still queued for it, that bundler's loop never waits again (JGRP-3008, fixed in
     * JGroups 5.5.6). Seen here too: after an extra member left ClusterJwtRotationTest's channel, two spinning bundlers
     * held both carrier threads of a 2-CPU host, and the next replica's cache start waited for a topology for good.
     */
    static String stackXml(Membership m) {
        StringBuilder hosts = new StringBuilder();
        for (InetSocketAddress a : m.members()) {
            if (hosts.length() > 0) {
                hosts.append(',');
            }
            hosts.append(a.getAddress().getHostAddress()).append('[').append(a.getPort()).append(']');
        }
        return """
                <config xmlns="urn:org:jgroups">
                  <TCP bind_addr="%s" bind_port="%d" port_range="0" diag.enabled="false" thread_naming_pattern="pl"
                       tcp_nodelay="true" bundler_type="transfer-queue"/>
                  <TCPPING initial_hosts="%s" port_range="0"/>
                  <MERGE3 min_interval="10s" max_interval="30s"/>
                  <FD_ALL3/>
                  <VERIFY_SUSPECT2 timeout="1s"/>
                  <pbcast.NAKACK2 use_mcast_xmit="false" xmit_interval="200ms"/>
                  <UNICAST3 xmit_interval="200ms"/>
                  <pbcast.STABLE desired_avg_gossip="5s" max_bytes="1M"/>
                  <pbcast.GMS print_local_addr="false" join_timeout="2s"/>
                  <UFC max_credits="4m" min_threshold="0.40"/>
                  <MFC max_credits="4m" min_threshold="0.40"/>
                  <FRAG4 frag_size="60k"/>
                </config>
                """.formatted(m.bind().getAddress().getHostAddress(), m.bind().getPort(), hosts);
    }

    static InetSocketAddress parseHostPort(String key, String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException(key + ": '" + text + "' is not host:port");
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(text.substring(0, colon)),
                    Integer.parseInt(text.substring(colon + 1)));
        } catch (UnknownHostException | NumberFormatException e) {
            throw new IllegalArgumentException(key + ": '" + text + "' is not host:port (" + e.getMessage() + ")", e);
        }
    }
}
