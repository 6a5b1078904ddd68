package io.isthmus.gateway.enrolment;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;

import org.infinispan.configuration.cache.CacheMode;
import org.infinispan.configuration.cache.Configuration;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.configuration.global.GlobalConfigurationBuilder;
import org.infinispan.manager.DefaultCacheManager;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.remoting.transport.jgroups.JGroupsTransport;
import org.jgroups.JChannel;
import org.jgroups.protocols.FD_ALL3;
import org.jgroups.protocols.FRAG4;
import org.jgroups.protocols.MERGE3;
import org.jgroups.protocols.MFC;
import org.jgroups.protocols.TCP;
import org.jgroups.protocols.TCPPING;
import org.jgroups.protocols.UFC;
import org.jgroups.protocols.UNICAST3;
import org.jgroups.protocols.VERIFY_SUSPECT2;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.protocols.pbcast.NAKACK2;
import org.jgroups.protocols.pbcast.STABLE;

/**
 * Builds the replicated caches the enrolment state lives in, on an embedded Infinispan whose replicas find each
 * other over JGroups TCP with a static member list (TCPPING). Used when no shared {@code EmbeddedCacheManager} bean
 * exists (the registry's will replace it; see {@link EnrolmentStores}).
 */
public final class EnrolmentCluster {
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
        JChannel channel;
        try {
            TCP tcp = new TCP();
            tcp.setBindAddress(membership.bind().getAddress());
            tcp.setBindPort(membership.bind().getPort());
            tcp.setPortRange(0);
            TCPPING ping = new TCPPING();
            ping.setInitialHosts(membership.members());
            ping.setPortRange(0);
            GMS gms = new GMS();
            gms.setJoinTimeout(2000);
            channel = new JChannel(tcp, ping, new MERGE3(), new FD_ALL3(), new VERIFY_SUSPECT2(), new NAKACK2(),
                    new UNICAST3(), new STABLE(), gms, new UFC(), new MFC(), new FRAG4());
        } catch (Exception e) {
            throw new IllegalStateException("cannot build the JGroups stack for " + membership + ": " + e.getMessage(), e);
        }
        GlobalConfigurationBuilder global = GlobalConfigurationBuilder.defaultClusteredBuilder();
        global.transport().clusterName(membership.clusterName()).transport(new JGroupsTransport(channel));
        if (membership.nodeName() != null) {
            global.transport().nodeName(membership.nodeName());
        }
        global.jmx().disable();
        DefaultCacheManager manager = new DefaultCacheManager(global.build(), true);
        defineCaches(manager);
        return manager;
    }

    /** Defines the two replicated caches on {@code manager} (idempotent). */
    public static void defineCaches(EmbeddedCacheManager manager) {
        Configuration repl = new ConfigurationBuilder().clustering().cacheMode(CacheMode.REPL_SYNC).build();
        for (String name : List.of(InfinispanJoinTokenStore.CACHE, InfinispanVmIdentityStore.CACHE)) {
            if (manager.getCacheConfiguration(name) == null) {
                manager.defineConfiguration(name, repl);
            }
        }
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
