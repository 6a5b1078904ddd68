package io.isthmus.gateway.registry;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/**
 * The service registry, prefix {@code isthmus.registry}: how this gateway joins the replicated registry (its
 * local Infinispan cluster and the TLS cross-site bridge to the other clusters), what it stamps on its exports,
 * and where exports come from. Immutable; bad values fail startup naming the key.
 */
@ConfigMapping(prefix = "isthmus.registry")
public interface RegistryConfig {

    /**
     * Replicate the registry. When false the registry is local to this process (no local cluster, no bridge):
     * useful for a single gateway in development.
     */
    @WithDefault("true")
    boolean enabled();

    /** This cluster's site name on the bridge and the first part of its registry keys. Default: {@code isthmus.cluster-name}. */
    Optional<String> site();

    /**
     * Address the local-cluster and bridge transports bind to and advertise (the bridge advertises
     * {@code advertised-bridge-address} instead when it is set): the pod IP in Kubernetes.
     */
    @WithName("bind-host")
    @WithDefault("127.0.0.1")
    String bindHost();

    /** Port of the TLS cross-site bridge (JGroups RELAY2). Peers dial it; it must be reachable from them. */
    @WithName("xsite-port")
    @WithDefault("7900")
    int xsitePort();

    /**
     * {@code host:port} under which the other clusters reach this cluster's bridge, when that is not
     * {@code bind-host:xsite-port}: a load balancer (or NAT) in front of the replicas, in another network than the
     * peers. Every replica then listens on {@code xsite-port} and relays each connection to the current site master,
     * whose bridge listens on {@code xsite-master-port} and advertises this address instead of its pod IP (JGroups
     * {@code external_addr}), so the balancer may pick any replica. A name is resolved when a bridge forms (and
     * again until it resolves). In Kubernetes: the public Service's DNS name or IP and its bridge port.
     */
    @WithName("advertised-bridge-address")
    Optional<String> advertisedBridgeAddress();

    /**
     * Port of the site master's own bridge behind the relay ({@code advertised-bridge-address}); reached by the other
     * replicas only. Must differ from {@code xsite-port} and {@code local-port}.
     */
    @WithName("xsite-master-port")
    @WithDefault("7901")
    int xsiteMasterPort();

    /** Port of the local cluster transport (this gateway's replicas). 0 picks a free port (tests). */
    @WithName("local-port")
    @WithDefault("7800")
    int localPort();

    /**
     * The replicas of this gateway as {@code host:port} of their local transports, for static discovery (JGroups
     * TCPPING). Empty, with no {@code local-dns-query}: one replica. Exclusive with {@code local-dns-query}.
     */
    @WithName("local-members")
    Optional<List<String>> localMembers();

    /**
     * A DNS name whose A records are this gateway's replicas, for discovery with JGroups DNS_PING instead of
     * {@code local-members}; in Kubernetes, the fully qualified name of a headless Service selecting the gateway's
     * pods with {@code publishNotReadyAddresses: true}, e.g.
     * {@code isthmus-gateway-replicas.isthmus-system.svc.cluster.local}. Each address is dialled at
     * {@code local-port}, so every replica must use the same {@code local-port} (not 0). Exclusive with
     * {@code local-members}.
     */
    @WithName("local-dns-query")
    Optional<String> localDnsQuery();

    /**
     * The other clusters' sites by site name, e.g. {@code isthmus.registry.peers.gcp-west.bridge-addresses=10.0.0.7:7900}
     * and {@code isthmus.registry.peers.gcp-west.trust-domain=gcp-west.acme.internal}.
     */
    Map<String, PeerSiteConfig> peers();

    /** Where this cluster runs; the resolver prefers exports in the same zone, then region. */
    Locality locality();

    /** How long an export stays routable without a heartbeat from its owner. */
    @WithName("lease-ttl")
    @WithDefault("30s")
    Duration leaseTtl();

    /** How often this gateway renews the leases of its own exports; well below {@code lease-ttl}. */
    @WithName("heartbeat-interval")
    @WithDefault("10s")
    Duration heartbeatInterval();

    /**
     * How long a starting replica looks for its site's running replicas (on the LAN) before it starts the local
     * cluster alone; a replica configured without other replicas does not wait. See README "Registry timings".
     */
    @WithName("local-join-timeout")
    @WithDefault("2s")
    Duration localJoinTimeout();

    /** The same on the cross-site bridge, whose peers are across the WAN; the bridge forms in the background. */
    @WithName("bridge-join-timeout")
    @WithDefault("2s")
    Duration bridgeJoinTimeout();

    /**
     * How long an update waits for a backup site's answer before it is retried; while it waits, the next update of
     * the same key to the live sites waits too, so keep it short (a few WAN round trips).
     */
    @WithName("backup-timeout")
    @WithDefault("3s")
    Duration backupTimeout();

    /** Failure detection of replicas and of peer sites' bridges (JGroups FD_ALL3 and VERIFY_SUSPECT2). */
    @WithName("failure-detection")
    FailureDetection failureDetection();

    interface FailureDetection {
        /** A member with no heartbeat for this long is suspected. */
        @WithDefault("20s")
        Duration timeout();

        /** How often members send heartbeats; at most half of {@code timeout}. */
        @WithDefault("4s")
        Duration interval();

        /** How long a suspected member has to answer before it is removed. */
        @WithName("verify-timeout")
        @WithDefault("1s")
        Duration verifyTimeout();
    }

    /** Suffix of mesh names, {@code <service>.<namespace>.<suffix>}. */
    @WithName("mesh-suffix")
    @WithDefault("svc.clusterset.local")
    String meshSuffix();

    /** Public {@code host:port} of this cluster's east-west ingress, advertised in every export. Default: bind-host:15443. */
    @WithName("ingress-address")
    Optional<String> ingressAddress();

    /**
     * Services exported from configuration (no Kubernetes), by service name, e.g.
     * {@code isthmus.registry.static-exports.payments.namespace=billing},
     * {@code isthmus.registry.static-exports.payments.ports=http:8080,grpc:9090}.
     */
    @WithName("static-exports")
    Map<String, StaticExport> staticExports();

    /** The Kubernetes source of exports. */
    Kubernetes kubernetes();

    interface PeerSiteConfig {
        /**
         * {@code host:port} of the peer's bridge: its {@code advertised-bridge-address} (a load balancer that relays to
         * its site master) or, without one, one address per gateway replica that can become its site master.
         */
        @WithName("bridge-addresses")
        List<String> bridgeAddresses();

        /** The peer's trust domain: its bridge must present a gateway SVID of exactly this trust domain. */
        @WithName("trust-domain")
        String trustDomain();
    }

    interface Locality {
        /** Region, e.g. {@code eu-west-1}; empty when unknown. */
        Optional<String> region();

        /** Zone, e.g. {@code eu-west-1a}; empty when unknown. */
        Optional<String> zone();
    }

    interface StaticExport {
        /** The namespace of the service. */
        @WithDefault("default")
        String namespace();

        /** Ports as {@code name:port} (protocol from the name prefix) or {@code name:port:protocol}; protocol is http, http2, grpc or tcp. */
        List<String> ports();

        /** SPIFFE IDs that serve the service. */
        Optional<List<String>> identities();

        /** Ready endpoint count to advertise. */
        @WithName("ready-endpoints")
        @WithDefault("1")
        int readyEndpoints();
    }

    interface Kubernetes {
        /**
         * Watch {@code ServiceExport}, {@code Service} and {@code EndpointSlice} objects and write
         * {@code ServiceImport}s. Off by default: enable it where the gateway runs in Kubernetes.
         */
        @WithDefault("false")
        boolean enabled();

        /** One writer per cluster: which replica runs the Kubernetes source. */
        @WithName("leader-election")
        LeaderElection leaderElection();
    }

    interface LeaderElection {
        /**
         * Run the Kubernetes source (ServiceExport watcher and ServiceImport writer) only on the replica that holds a
         * {@code coordination.k8s.io/v1} Lease; the others take over when it lapses. Needs RBAC get, create and
         * update on {@code leases} in the Lease's namespace. Off only for a single replica.
         */
        @WithDefault("true")
        boolean enabled();

        /** The Lease's name: one per cluster, shared by its replicas. */
        @WithName("lease-name")
        @WithDefault("isthmus-registry-writer")
        String leaseName();

        /** The Lease's namespace. Default: {@code POD_NAMESPACE}, else the client's namespace. */
        Optional<String> namespace();

        /**
         * This replica's name in the Lease; it must survive a restart (a restarted replica then takes over its own
         * unreleased Lease at once) and differ between live replicas (a live process renewing the Lease under this
         * replica's name keeps it from writing). Default: {@code POD_NAME}; in Kubernetes {@code HOSTNAME}; else
         * {@code <host name>:<isthmus.data-dir>}.
         */
        Optional<String> identity();

        /**
         * How long a Lease holds without renewal: a dead leader is replaced this long after its last renewal (plus up
         * to one retry period). Kubernetes' own controllers use 15 s.
         */
        @WithName("lease-duration")
        @WithDefault("15s")
        Duration leaseDuration();

        /** A leader that could not renew for this long stops writing; shorter than the lease duration. */
        @WithName("renew-deadline")
        @WithDefault("10s")
        Duration renewDeadline();

        /** How often a leader renews and a follower tries to acquire. */
        @WithName("retry-period")
        @WithDefault("2s")
        Duration retryPeriod();
    }
}
