package io.isthmus.gateway.enrolment;

import java.net.InetSocketAddress;
import java.util.List;

import org.infinispan.configuration.global.GlobalConfigurationBuilder;
import org.infinispan.factories.GlobalComponentRegistry;
import org.infinispan.manager.DefaultCacheManager;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.remoting.transport.Transport;
import org.infinispan.remoting.transport.jgroups.JGroupsTransport;
import org.jgroups.protocols.DISCARD;

/**
 * Real embedded Infinispan nodes for tests of the replicated caches ({@link EnrolmentCluster}): JGroups over plain TCP
 * on loopback with a static member list. A gateway never runs this stack: its caches live on the registry's cache
 * manager, whose local cluster is mutual TLS admitting only the gateway's own identity.
 */
public final class TestReplicas {
    private TestReplicas() {
    }

    /** Where this replica listens and whom it contacts first. */
    public record Membership(String clusterName, String nodeName, InetSocketAddress bind,
            List<InetSocketAddress> members) {
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
        // The stack goes in as XML: Infinispan 16 ignores a JGroupsTransport built around our own JChannel and
        // would fall back to its default UDP multicast stack.
        EmbeddedCacheManager manager = manager(membership, stackXml(membership));
        EnrolmentCluster.defineCaches(manager, storeDir);
        return manager;
    }

    /**
     * A started cache manager on {@link #partitionableStackXml}, with no caches defined: a partition test cuts it off
     * from the others with {@link #cut} and heals it with {@link #heal}.
     */
    public static EmbeddedCacheManager startPartitionable(Membership membership) {
        return manager(membership, partitionableStackXml(membership));
    }

    /** Drops every JGroups message {@code node} sends or receives, from now until {@link #heal}. */
    public static void cut(EmbeddedCacheManager node) {
        discard(node).discardAll(true);
    }

    /** Lets {@code node}'s JGroups messages through again after {@link #cut}. */
    public static void heal(EmbeddedCacheManager node) {
        discard(node).discardAll(false);
    }

    private static DISCARD discard(EmbeddedCacheManager node) {
        JGroupsTransport transport = (JGroupsTransport) GlobalComponentRegistry.componentOf(node, Transport.class);
        return transport.getChannel().getProtocolStack().findProtocol(DISCARD.class);
    }

    private static EmbeddedCacheManager manager(Membership membership, String stackXml) {
        GlobalConfigurationBuilder global = GlobalConfigurationBuilder.defaultClusteredBuilder();
        global.transport().clusterName(membership.clusterName())
                .addProperty(JGroupsTransport.CONFIGURATION_XML, stackXml);
        if (membership.nodeName() != null) {
            global.transport().nodeName(membership.nodeName());
        }
        global.jmx().disable();
        return new DefaultCacheManager(global.build(), true);
    }

    /**
     * {@link #stackXml} with a DISCARD protocol above the transport (a test cuts a replica off with
     * {@link #cut} and heals it with {@link #heal}) and fast failure detection and merging (suspected after
     * 3 s, merges looked for every 1-3 s), for partition tests.
     */
    public static String partitionableStackXml(Membership m) {
        return stackXml(m)
                .replace("tcp_nodelay=\"true\" bundler_type=\"transfer-queue\"/>",
                        "tcp_nodelay=\"true\" bundler_type=\"transfer-queue\"/>\n  <DISCARD/>")
                .replace("<MERGE3 min_interval=\"10s\" max_interval=\"30s\"/>", "<MERGE3 min_interval=\"1s\" max_interval=\"3s\"/>")
                .replace("<FD_ALL3/>", "<FD_ALL3 timeout=\"3000\" interval=\"1000\"/>");
    }

    /**
     * TCP transport, static discovery (TCPPING) over the configured members, no multicast anywhere. Nagle's algorithm
     * off ({@code tcp_nodelay}; JGroups 5.5 leaves it on): every write here is a synchronous replication that waits for
     * the other replica's answer, and with Nagle on a small message held back for the peer's delayed ACK made each
     * sequential write take about 44 ms on loopback (0.3-0.7 ms without). The transfer-queue bundler, not JGroups
     * 5.5.1's default per-destination one, for the reason the registry's channels give (ChannelFactory): after a
     * member leaves with messages still queued for it, that bundler's loop never waits again (JGRP-3008, fixed in
     * JGroups 5.5.6). Seen here: after an extra member left ClusterJwtRotationTest's channel, two spinning bundlers
     * held both carrier threads of a 2-CPU host, and the next replica's cache start waited for a topology for good.
     */
    public static String stackXml(Membership m) {
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
}
