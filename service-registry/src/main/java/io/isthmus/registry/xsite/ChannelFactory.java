package io.isthmus.registry.xsite;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;

import org.jboss.logging.Logger;
import org.jgroups.Address;
import org.jgroups.Event;
import org.jgroups.JChannel;
import org.jgroups.View;
import org.jgroups.protocols.Discovery;
import org.jgroups.protocols.FD_ALL3;
import org.jgroups.protocols.FRAG4;
import org.jgroups.protocols.MERGE3;
import org.jgroups.protocols.MFC;
import org.jgroups.protocols.SHARED_LOOPBACK;
import org.jgroups.protocols.SHARED_LOOPBACK_PING;
import org.jgroups.protocols.TCP;
import org.jgroups.protocols.TCPPING;
import org.jgroups.protocols.UFC;
import org.jgroups.protocols.UNICAST3;
import org.jgroups.protocols.VERIFY_SUSPECT2;
import org.jgroups.protocols.dns.DNS_PING;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.protocols.pbcast.NAKACK2;
import org.jgroups.protocols.pbcast.STABLE;
import org.jgroups.protocols.relay.RELAY2;
import org.jgroups.protocols.relay.config.RelayConfig;
import org.jgroups.stack.IpAddress;
import org.jgroups.stack.Protocol;
import org.jgroups.util.DefaultSocketFactory;

import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Builds the JGroups channels of one gateway programmatically (no XML, no system properties):
 * <ul>
 * <li>the <b>local</b> channel: TCP + discovery of this cluster's replicas, topped by RELAY2 naming this site; its
 * sockets are TLS 1.3 too, and accept only SVIDs of this site's own trust domain (another replica). Discovery is
 * TCPPING over the static local members, or, when {@link SiteSettings#localDnsQuery()} is set, JGroups'
 * {@code DNS_PING}: A records of that name, each dialled at the local port (the same on every replica);</li>
 * <li>the <b>bridge</b> channel that RELAY2 opens on the site master: TCP whose sockets are TLS 1.3 with client
 * authentication required, presenting this gateway's SVID and checking peers with {@link BridgeTrustManager};
 * TCPPING over every peer site's bridge addresses; every received message must name a site whose trust domain
 * is the one proven on its connection ({@link BridgeTcp}). With an {@link AdvertisedBridge} it binds the master
 * port and advertises the load balancer's address (JGroups {@code external_addr}/{@code external_port}), which
 * every replica relays to it ({@link BridgeRelay}).</li>
 * </ul>
 * A fresh protocol stack is built each time a channel is created, because a site master that loses and regains
 * its role creates its bridge again.
 */
public final class ChannelFactory {
    /** Cluster name of the bridge channel; every site must use the same. */
    public static final String BRIDGE_CLUSTER = "isthmus-bridge";
    private static final Logger LOG = Logger.getLogger(ChannelFactory.class);
    private static final String[] TLS_PROTOCOLS = {"TLSv1.3"};
    private static final long RESOLVE_RETRY_MILLIS = 2_000;
    private static final long LONE_JOIN_TIMEOUT_MILLIS = 50;
    static final int LOCAL_DISCOVERY_RUNS = 3;

    /** What does not change while the node runs: its site, trust domain, addresses and ports. */
    private final SiteSettings settings;
    /** The settings in force: the peer sites change with the federation's membership ({@link #peersChanged}). */
    private final java.util.function.Supplier<SiteSettings> live;
    private final SSLContext bridgeTls;
    private final SSLContext localTls;
    private final Timing timing;
    private final AtomicLong droppedMessages = new AtomicLong();
    /** Transports of running channels (normally one of each; two briefly while RELAY2 replaces a bridge). */
    private final Set<TlsTcp> bridgeTransports = ConcurrentHashMap.newKeySet();
    private final Set<TlsTcp> localTransports = ConcurrentHashMap.newKeySet();
    private final AtomicReference<JChannel> localChannel = new AtomicReference<>();
    /**
     * Opened once this node's cross-site cache runs. A bridge up before that receives the other sites' backups for a
     * cache that does not exist here yet; they answer "invalid cache configuration" by taking this site offline, and
     * nothing brings it back while the cross-site view stays the same (seen as ISPN000606 when a loaded host started
     * the cache seconds after the channel).
     */
    private final CountDownLatch cachesStarted = new CountDownLatch(1);
    /** Discovery of the latest bridge channel (RELAY2 makes a new one when this node becomes site master again). */
    private volatile BridgeDiscovery bridgeDiscovery;
    /** Merging of the latest bridge channel. */
    private volatile MERGE3 bridgeMerge;
    private volatile boolean closed;

    /**
     * Failure detection, discovery and cross-site backup timings; {@link #DEFAULT} suits a WAN between sites (the
     * argument is in the README, "Registry timings"), tests may shorten them. Checked on construction: every value
     * positive, the heartbeat interval at most half the failure timeout (FD_ALL3 suspects a member after a timeout
     * with no heartbeat, so a single late heartbeat must not be enough), the merge interval's minimum below its
     * maximum.
     *
     * @param failureTimeoutMillis a member with no heartbeat for this long is suspected (FD_ALL3 timeout)
     * @param failureIntervalMillis how often heartbeats are sent (FD_ALL3 interval)
     * @param localJoinTimeoutMillis how long a starting replica looks for its site's running replicas before it
     *                               starts the local cluster alone (GMS join timeout of the local channel)
     * @param bridgeJoinTimeoutMillis the same on the bridge, whose peers are across the WAN
     * @param mergeMinMillis MERGE3's minimum interval between merge checks
     * @param mergeMaxMillis MERGE3's maximum interval
     * @param verifySuspectMillis how long a suspected member has to prove it is alive (VERIFY_SUSPECT2 timeout)
     * @param backupTimeoutMillis how long an update waits for a backup site's answer before it is retried
     */
    public record Timing(long failureTimeoutMillis, long failureIntervalMillis, long localJoinTimeoutMillis,
            long bridgeJoinTimeoutMillis, long mergeMinMillis, long mergeMaxMillis, long verifySuspectMillis,
            long backupTimeoutMillis) {
        public static final Timing DEFAULT = new Timing(20_000, 4_000, 2_000, 2_000, 5_000, 15_000, 1_000, 3_000);
        public static final Timing FAST = new Timing(4_000, 1_000, 500, 500, 1_000, 3_000, 500, 3_000);

        public Timing {
            positive("failure-detection.timeout", failureTimeoutMillis);
            positive("failure-detection.interval", failureIntervalMillis);
            positive("local-join-timeout", localJoinTimeoutMillis);
            positive("bridge-join-timeout", bridgeJoinTimeoutMillis);
            positive("merge-interval.min", mergeMinMillis);
            positive("merge-interval.max", mergeMaxMillis);
            positive("failure-detection.verify-timeout", verifySuspectMillis);
            positive("backup-timeout", backupTimeoutMillis);
            if (failureIntervalMillis * 2 > failureTimeoutMillis) {
                throw new InvalidTiming("failure-detection.interval", "failure-detection.interval (" + failureIntervalMillis
                        + " ms) must be at most half of failure-detection.timeout (" + failureTimeoutMillis + " ms), so"
                        + " that one late heartbeat does not get a live member suspected; lower the interval or raise"
                        + " the timeout");
            }
            if (mergeMinMillis >= mergeMaxMillis) {
                throw new InvalidTiming("merge-interval.min", "merge-interval.min (" + mergeMinMillis + " ms) must be"
                        + " below merge-interval.max (" + mergeMaxMillis + " ms)");
            }
        }

        private static void positive(String key, long millis) {
            if (millis <= 0) {
                throw new InvalidTiming(key, key + " is " + millis + " ms; it must be a positive duration (e.g. 2s)");
            }
        }
    }

    /** A {@link Timing} value that breaks a rule; {@link #key()} names the setting, relative to the registry's keys. */
    public static final class InvalidTiming extends IllegalArgumentException {
        private final String key;

        InvalidTiming(String key, String message) {
            super(message);
            this.key = key;
        }

        public String key() {
            return key;
        }
    }

    /**
     * @param bridgeTls presents this gateway's SVID and authenticates peer sites ({@link BridgeTrustManager})
     * @param localTls presents this gateway's SVID and accepts only SVIDs of this site's own trust domain
     */
    public ChannelFactory(SiteSettings settings, SSLContext bridgeTls, SSLContext localTls, Timing timing) {
        this(() -> settings, bridgeTls, localTls, timing);
    }

    /** @param live the settings in force, whose peer sites are read whenever a bridge is built or a message checked */
    public ChannelFactory(java.util.function.Supplier<SiteSettings> live, SSLContext bridgeTls, SSLContext localTls,
            Timing timing) {
        this.live = live;
        this.settings = live.get();
        this.bridgeTls = bridgeTls;
        this.localTls = localTls;
        this.timing = timing;
    }

    /** Bridge messages dropped because their site's trust domain differs from their connection's. */
    public long droppedBridgeMessages() {
        return droppedMessages.get();
    }

    /** The transports of the bridge channels running now (none on a replica that is not the site master). */
    Set<TlsTcp> bridgeTransports() {
        return Set.copyOf(bridgeTransports);
    }

    /** The transports of the local channels running now. */
    Set<TlsTcp> localTransports() {
        return Set.copyOf(localTransports);
    }

    /**
     * The peer sites changed: the running bridge's discovery asks the new set of bridge addresses from its next round
     * on (a new site is found by the next discovery or merge; a removed one is no longer asked), and addresses it learned
     * from removed sites are forgotten. RELAY2 itself needs no change: it routes to the sites the bridge view shows, and
     * which site a connection may speak for is checked per message ({@link BridgeTcp}).
     */
    public void peersChanged() {
        BridgeDiscovery discovery = bridgeDiscovery;
        if (discovery != null) {
            discovery.replaceHosts(peerBridges(live.get()));
        }
    }

    /**
     * Asks the bridge's peers now, rather than at MERGE3's next rounds (7.5-22 s apart with the default timing, and a
     * merge needs a round on both sides plus a consistency check): a site that joins a running federation starts as a
     * bridge of its own and is merged in once the coordinators see each other. Sends this node's view info to every
     * discovered bridge member ({@code send}), then checks the views it collected ({@code check}, a moment later), so
     * that a coordinator that sees another view merges at once.
     */
    public void hurryBridgeMerge(java.util.concurrent.Executor send, java.util.concurrent.Executor check) {
        MERGE3 merge = bridgeMerge;
        if (merge == null) {
            return;
        }
        send.execute(merge::sendInfo);
        check.execute(merge::checkInconsistencies);
    }

    private static List<InetSocketAddress> peerBridges(SiteSettings settings) {
        List<InetSocketAddress> peers = new ArrayList<>();
        settings.peers().values().forEach(p -> peers.addAll(p.bridgeAddresses()));
        return peers;
    }

    private TrustDomain trustDomainOfSite(String site) {
        if (settings.site().equals(site)) {
            return settings.trustDomain();
        }
        PeerSite peer = live.get().peers().get(site);
        return peer == null ? null : peer.trustDomain();
    }

    public JChannel createLocalChannel() throws Exception {
        RELAY2 relay = new RELAY2().site(settings.site());
        relay.asyncRelayCreation(true);
        relay.siteMasterPicker(new NewestRoutePicker());
        Set<String> sites = new LinkedHashSet<>();
        sites.add(settings.site());
        sites.addAll(settings.peers().keySet());
        for (String site : sites) {
            relay.addSite(site, new RelayConfig.SiteConfig(site).addBridge(new BridgeChannel()));
        }
        Protocol discovery = settings.localDnsQuery().<Protocol>map(ChannelFactory::dnsPing)
                .orElseGet(() -> tcpPing(settings.localMembers()));
        List<Protocol> stack = stack(settings.localPort(), discovery, localTls, false);
        stack.add(new RelayLoopGuard());
        stack.add(relay);
        JChannel ch = new JChannel(stack);
        ch.name(settings.site() + "-" + (settings.localPort() == 0 ? "node" : String.valueOf(settings.localPort())));
        localChannel.set(ch);
        return ch;
    }

    JChannel createBridgeChannel() throws Exception {
        // RELAY2 creates the bridge on its own thread (asyncRelayCreation), so waiting here holds up nothing else.
        try {
            while (!cachesStarted.await(1, TimeUnit.SECONDS)) {
                if (closed) {
                    return closingBridge();
                }
            }
        } catch (InterruptedException stopping) {
            return closingBridge();
        }
        Optional<AdvertisedBridge> advertised = settings.advertisedBridge();
        int port = advertised.map(AdvertisedBridge::masterPort).orElse(settings.bridgePort());
        BridgeDiscovery discovery = new BridgeDiscovery(peerBridges(live.get()));
        bridgeDiscovery = discovery;
        List<Protocol> stack = stack(port, discovery, bridgeTls, true);
        if (advertised.isPresent()) {
            // Peers learn this address from discovery and dial it for every later connection: it must be the load
            // balancer's, not this pod's, which no other network can route to.
            Optional<InetAddress> external = resolve(advertised.get().host());
            if (external.isEmpty()) {
                return closingBridge();
            }
            TCP tcp = (TCP) stack.get(0);
            tcp.setExternalAddr(external.get());
            tcp.setExternalPort(advertised.get().port());
        }
        JChannel ch = new JChannel(stack);
        ch.name("_" + settings.site() + "-" + port);
        return ch;
    }

    /**
     * The advertised host's address, waiting while it does not resolve yet: a load balancer's DNS name often appears
     * minutes after the gateway started (external-dns), and RELAY2 does not retry a bridge it failed to create. Runs
     * on RELAY2's relay-creation thread, never a JGroups receiver.
     */
    private Optional<InetAddress> resolve(String host) {
        WarnEvery warnings = new WarnEvery(java.time.Duration.ofMinutes(1));
        while (true) {
            try {
                return Optional.of(InetAddress.getByName(host));
            } catch (UnknownHostException e) {
                if (closed) {
                    return Optional.empty();
                }
                if (warnings.due()) {
                    LOG.warnf("registry: site %s cannot resolve its advertised bridge address %s yet (isthmus.registry."
                            + "advertised-bridge-address); the bridge forms once it resolves. Check the load balancer's "
                            + "DNS record.", settings.site(), host);
                }
                try {
                    Thread.sleep(RESOLVE_RETRY_MILLIS);
                } catch (InterruptedException stopping) {
                    // RELAY2 interrupts its relay-creation thread when the node closes.
                    return Optional.empty();
                }
            }
        }
    }

    /**
     * What the bridge becomes when the node closes before the bridge could be made (its caches never ran, or its
     * advertised address never resolved): a channel that never leaves this JVM. RELAY2 treats any exception from
     * bridge creation as an error with a stack trace, and logs one on a normal stop; given this channel it connects
     * and stops it quietly, which is all that is left to do.
     */
    private JChannel closingBridge() throws Exception {
        LOG.debugf("registry: site %s closed before its bridge was made", settings.site());
        return new JChannel(new SHARED_LOOPBACK(), new SHARED_LOOPBACK_PING(), new NAKACK2(), new UNICAST3(),
                new STABLE(), new GMS().setJoinTimeout(100)).name("_" + settings.site() + "-closing");
    }

    /**
     * The bridge address of this site's current site master (the local cluster's coordinator: RELAY2 makes the
     * first member of the view the site master), at the master port; empty before the local channel has a view.
     */
    Optional<InetSocketAddress> siteMasterBridge() {
        JChannel ch = localChannel.get();
        Optional<AdvertisedBridge> advertised = settings.advertisedBridge();
        View view = ch == null ? null : ch.getView();
        if (advertised.isEmpty() || view == null || view.getCoord() == null) {
            return Optional.empty();
        }
        Address coordinator = view.getCoord();
        Object physical = ch.getProtocolStack().getTransport().down(new Event(Event.GET_PHYSICAL_ADDRESS, coordinator));
        if (physical instanceof IpAddress ip && ip.getIpAddress() != null) {
            return Optional.of(new InetSocketAddress(ip.getIpAddress(), advertised.get().masterPort()));
        }
        return Optional.empty();
    }

    /** Lets the bridge form: this node's cross-site caches run (see {@link #cachesStarted}). */
    void cachesRunning() {
        cachesStarted.countDown();
    }

    /**
     * Stops waiting for anything (a bridge address that does not resolve, a join no coordinator completes: see
     * {@link StopAwareGms}); channels are closed by their owner.
     */
    void close() {
        closed = true;
    }

    private static TCPPING tcpPing(List<InetSocketAddress> initialHosts) {
        TCPPING ping = new TCPPING();
        ping.setPortRange(0);
        ping.setInitialHosts(new ArrayList<>(initialHosts));
        ping.breakOnCoordResponse(true);
        return askAgainDuringTheJoinTimeout(ping);
    }

    /**
     * Sends the discovery requests {@value #LOCAL_DISCOVERY_RUNS} times within the join timeout instead of once. Two
     * replicas that start together (a StatefulSet with parallel pod management, or the same rollout) each ask once at
     * start: a request that reaches the other before it listens, or whose TLS handshake with a JVM still warming up
     * outlasts the wait, finds nobody, and each replica then starts a local cluster of its own. The two only merge
     * at MERGE3's next rounds (25-48 s in LoadBalancedFederationE2ETest), with two site masters behind one bridge
     * address meanwhile. Seen in CI: all three sites of that test split so at start, and a minute later one site
     * master still sent to a peer's former site master (LocalJoinTest shows the lost first request).
     */
    private static <T extends Discovery> T askAgainDuringTheJoinTimeout(T discovery) {
        return discovery.setValue("num_discovery_runs", LOCAL_DISCOVERY_RUNS);
    }

    /**
     * A records only carry addresses: DNS_PING dials each at the transport's own bind port (plus its port range,
     * which is 0 here), so every replica must bind the same local port. The name is resolved with the JVM's
     * resolver ({@code InetAddress}), which applies its own cache (30 s by default) and the search domains.
     */
    private static DNS_PING dnsPing(String query) {
        DNS_PING ping = new DNS_PING();
        ping.dnsQuery(query);
        ping.dnsRecordType("A");
        ping.breakOnCoordResponse(true);
        return askAgainDuringTheJoinTimeout(ping);
    }

    private List<Protocol> stack(int port, Protocol discovery, SSLContext tls, boolean bridge) throws Exception {
        Set<TlsTcp> live = bridge ? bridgeTransports : localTransports;
        TCP tcp = bridge ? new BridgeTcp(this::trustDomainOfSite, droppedMessages, live::add, live::remove)
                : new TlsTcp(live::add, live::remove);
        tcp.setBindAddress(InetAddress.getByName(settings.bindHost()));
        tcp.setBindPort(port);
        tcp.setPortRange(0);
        // Not JGroups 5.5.1's default per-destination bundler: its count of queued messages can stay above zero
        // after a member leaves with messages still queued for it, and its loop then never waits again. On
        // virtual threads (JGroups' default) two such spinning bundlers occupy both carrier threads of a 2-CPU
        // host and every other JGroups and Infinispan virtual thread starves: no discovery, no merge, no
        // cross-site backup until the sockets close (seen in thread dumps of LocalClusterTest's failover).
        tcp.setBundlerType("transfer-queue");
        // That bundler is one thread for every destination, so a blocking socket write to a member whose link
        // went silent (a partitioned site: no RST, the send buffer fills) would stall the sends to every other
        // member too, heartbeats included (seen in PartitionE2ETest: alpha and beta stopped replicating while
        // gamma was cut off). Non-blocking sends give each connection its own bounded queue and writer thread;
        // a full queue drops, and NAKACK2/UNICAST3 retransmit. Connecting to a silent peer gives up after 1 s.
        tcp.nonBlockingSends(true);
        tcp.maxSendQueue(4096);
        tcp.setSockConnTimeout(1000);
        // JGroups 5.5 leaves Nagle's algorithm on (JGRP-2781). Cross-site replication is stop-and-wait (IRAC sends a
        // batch, then waits for every site's answer before the next), so a batch's last partial segment, or the
        // answer, held back until the peer's delayed ACK (40 ms on Linux) adds that wait to every round.
        tcp.tcpNodelay(true);
        if (tls != null) {
            DefaultSocketFactory sockets = new DefaultSocketFactory(tls);
            sockets.setServerSocketConfigurator(s -> {
                SSLServerSocket server = (SSLServerSocket) s;
                SSLParameters params = server.getSSLParameters();
                params.setProtocols(TLS_PROTOCOLS);
                params.setNeedClientAuth(true);
                server.setSSLParameters(params);
            });
            sockets.setSocketConfigurator(s -> {
                if (s instanceof javax.net.ssl.SSLSocket ssl) {
                    SSLParameters params = ssl.getSSLParameters();
                    params.setProtocols(TLS_PROTOCOLS);
                    ssl.setSSLParameters(params);
                }
            });
            tcp.setSocketFactory(sockets);
        }
        MERGE3 merge = bridge ? new HealingMerge() : new MERGE3();
        merge.setMinInterval(timing.mergeMinMillis());
        merge.setMaxInterval(timing.mergeMaxMillis());
        if (bridge) {
            bridgeMerge = merge;
        }
        FD_ALL3 fd = new FD_ALL3();
        fd.setTimeout(timing.failureTimeoutMillis());
        fd.setInterval(timing.failureIntervalMillis());
        GMS gms = new StopAwareGms(() -> closed);
        gms.setJoinTimeout(bridge ? timing.bridgeJoinTimeoutMillis() : localJoinTimeout());
        gms.printLocalAddress(false);
        List<Protocol> stack = new ArrayList<>();
        stack.add(tcp);
        if (!bridge) {
            stack.add(new SilentMemberWatchdog(silence(), timing.failureIntervalMillis()));
        }
        stack.add(new RestartedMemberDetection());
        stack.add(discovery);
        stack.add(merge);
        stack.add(fd);
        stack.add(new VERIFY_SUSPECT2().setTimeout(timing.verifySuspectMillis()));
        stack.add(new NAKACK2().useMcastXmit(false));
        stack.add(new UNICAST3());
        stack.add(new STABLE());
        stack.add(gms);
        stack.add(new UFC());
        stack.add(new MFC());
        stack.add(new FRAG4());
        return stack;
    }

    /**
     * How long a member of the local cluster may send nothing before {@link SilentMemberWatchdog} suspects it: twice
     * what FD_ALL3 and VERIFY_SUSPECT2 take together, so that it acts only where they did not.
     */
    private long silence() {
        return 2 * (timing.failureTimeoutMillis() + timing.verifySuspectMillis());
    }

    /**
     * A replica configured with no other replica (no static members, no DNS query) has nobody to find: waiting the
     * join timeout for answers would only delay its start. It still runs discovery briefly, and a replica that does
     * appear later is merged by MERGE3.
     */
    private long localJoinTimeout() {
        boolean alone = settings.localMembers().isEmpty() && settings.localDnsQuery().isEmpty();
        return alone ? Math.min(LONE_JOIN_TIMEOUT_MILLIS, timing.localJoinTimeoutMillis()) : timing.localJoinTimeoutMillis();
    }

    /** Creates the bridge channel afresh each time RELAY2 asks. */
    private final class BridgeChannel extends RelayConfig.BridgeConfig {
        BridgeChannel() {
            super(BRIDGE_CLUSTER);
        }

        @Override
        public JChannel createChannel() throws Exception {
            return createBridgeChannel();
        }
    }
}
