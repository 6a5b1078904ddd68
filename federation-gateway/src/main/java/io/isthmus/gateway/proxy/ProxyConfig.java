package io.isthmus.gateway.proxy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/**
 * The east-west data plane, prefix {@code isthmus.proxy}: the mTLS ingress for peer gateways and the egress for
 * local workloads. Immutable; bad values fail startup naming the key.
 */
@ConfigMapping(prefix = "isthmus.proxy")
public interface ProxyConfig {

    /** The ingress peer gateways call, mutual TLS only. */
    Listener ingress();

    /** The egress local workloads call (plaintext with a bearer token, or TLS with their SVID, on one port). */
    @WithName("egress")
    EgressListener egress();

    /** DNS suffix of mesh names: {@code <service>.<namespace>.<suffix>}. */
    @WithName("mesh-suffix")
    @WithDefault("svc.clusterset.local")
    String meshSuffix();

    /** TCP connect plus TLS handshake to a peer ingress or a local backend; past it the next cluster is tried. */
    @WithName("connect-timeout")
    @WithDefault("2s")
    Duration connectTimeout();

    /** Connections without traffic for this long are closed; pooled upstreams idle half of it are not reused. */
    @WithName("idle-timeout")
    @WithDefault("60s")
    Duration idleTimeout();

    /** The request line and headers must arrive within this time of a request's first byte (slowloris): 408. */
    @WithName("header-timeout")
    @WithDefault("10s")
    Duration headerTimeout();

    /**
     * Longest time an exchange may go without a byte or frame in either direction between the gateway and its
     * upstream, unless the caller is the one holding it up: then 504 (gRPC: DEADLINE_EXCEEDED). A streamed body or a
     * long-lived stream has no overall limit. Also how long a pooled upstream connection may stay idle.
     */
    @WithName("request-timeout")
    @WithDefault("30s")
    Duration requestTimeout();

    /** Request line plus headers, in bytes; larger requests get 431. */
    @WithName("max-header-size")
    @WithDefault("16384")
    int maxHeaderSize();

    /**
     * The largest request body in bytes, counted as it streams through (413 before the response began, a reset
     * after); 0 means no limit. gRPC calls are not limited. Bodies are streamed in both directions, never held whole.
     */
    @WithName("max-body-size")
    @WithDefault("0")
    long maxBodySize();

    /** Passive outlier detection for peer clusters (consecutive failed connects). */
    Outlier outlier();

    /**
     * How the ingress normalizes request paths before policy matches them (the normalized path is also what the
     * backend gets), as Istio's {@code pathNormalization}: {@code none} (unsafe: policy sees raw paths),
     * {@code base} (RFC 3986: unreserved characters decoded, dot segments removed), {@code merge-slashes}
     * ({@code base} plus {@code //} merged), {@code decode-and-merge-slashes} ({@code %2F}, {@code %5C} and a
     * backslash become {@code /}). Except with {@code none}, {@code %2F}, {@code %5C} and backslashes (unless
     * decoded), {@code ;} parameters and fragments are refused with 400.
     */
    @WithName("path-normalization")
    @WithDefault("merge-slashes")
    String pathNormalization();

    /**
     * After a rotation retired the CA that signed a connection's peer (whose SVID had already expired), how long the
     * connection may finish what is in flight (HTTP/2 streams after GOAWAY, the current HTTP/1.1 exchange, a tunnel)
     * before it is closed. A revoked peer's connection is closed at once.
     */
    @WithName("drain-timeout")
    @WithDefault("10m")
    Duration drainTimeout();

    /** Event loop threads shared by ingress and egress; 0 means twice the cores. */
    @WithName("io-threads")
    @WithDefault("0")
    int ioThreads();

    /**
     * Local backends of exported services by mesh host name, as {@code host:port}, e.g.
     * {@code isthmus.proxy.backends."payments.billing.svc.clusterset.local"=10.0.3.7:8080}. Applies whatever port
     * the caller used.
     */
    Map<String, String> backends();

    /**
     * Services without a {@code backends} entry go to the in-cluster Service {@code <svc>.<ns>.svc.cluster.local}
     * on the port the caller used (for gateways running in Kubernetes).
     */
    @WithName("kubernetes-backends")
    @WithDefault("false")
    boolean kubernetesBackends();

    /**
     * Static routes used only when no registry {@code ServiceResolver} is available: mesh host name to the peer
     * ingresses that serve it, nearest first, e.g.
     * {@code isthmus.proxy.routes."payments.billing.svc.clusterset.local"=gw-b.example:15443,gw-c.example:15443}.
     */
    Map<String, List<String>> routes();

    /** This cluster's locality, used to prefer the nearest cluster exporting a service. */
    Locality locality();

    /**
     * Route connections by the server name (SNI) of their ClientHello before terminating TLS: at the ingress,
     * {@code <port>.<service>.<namespace>.<mesh suffix>} reaches a port this cluster exports as {@code tcp} (one
     * CONNECT, authorized at L4) or, undecrypted, one exported as {@code mtls}; at the egress, a ClientHello naming
     * an {@code mtls} port is relayed undecrypted. Other connections are served as without it.
     */
    @WithName("route-by-server-name")
    @WithDefault("true")
    boolean routeByServerName();

    /**
     * TCP services local clients reach without CONNECT, by listener name: the egress listens on {@code bind} and
     * carries each connection to {@code service}:{@code port} (exported as {@code tcp} by some cluster), e.g.
     * {@code isthmus.proxy.tcp-listeners.orders-db.service=postgres.data.svc.clusterset.local},
     * {@code .port=5432}, {@code .bind=0.0.0.0:15432}. The bound addresses are listed by {@code GET /v1/tcp-listeners}.
     */
    @WithName("tcp-listeners")
    Map<String, TcpListener> tcpListeners();

    interface TcpListener {
        /** The mesh name of the service, {@code <service>.<namespace>.<mesh suffix>}. */
        String service();

        /** The port the service is exported with (as {@code tcp}). */
        int port();

        /** {@code host:port} to listen on; port 0 picks a free port (see {@code GET /v1/tcp-listeners}). */
        @WithDefault("0.0.0.0:0")
        String bind();

        /**
         * The SPIFFE ID (of this trust domain, not a gateway's) that plaintext clients of this listener act as. Everyone
         * who can connect to the listener acts as it: bind it where only that workload can reach it. Unset: the
         * listener takes only TLS clients presenting their own SVID.
         */
        @WithName("plaintext-caller")
        Optional<String> plaintextCaller();
    }

    interface Listener {
        /** Whether to run this listener. */
        @WithDefault("true")
        boolean enabled();

        /** Address to bind. */
        @WithDefault("0.0.0.0")
        String host();

        /** Port to bind; 0 picks a free one (tests). */
        @WithDefault("15443")
        int port();

        /**
         * Open connections the ingress holds from one client address; more are closed at accept, before any TLS work
         * (WARN once a minute per address, {@code isthmus_refused_connections_total{listener="ingress"}}). A peer
         * gateway multiplexes requests on a few HTTP/2 connections, but each tunnel, TCP-listener and end-to-end mTLS
         * connection it relays is one more from its address, and a peer's replicas may share a NAT address.
         */
        @WithName("max-connections-per-client")
        @WithDefault("512")
        int maxConnectionsPerClient();

        /** Open connections the ingress holds in all; more are closed at accept. */
        @WithName("max-connections")
        @WithDefault("4096")
        int maxConnections();
    }

    interface EgressListener {
        /** Whether to run the egress. */
        @WithDefault("true")
        boolean enabled();

        /** Address to bind; the egress serves local workloads only, keep it cluster-internal. */
        @WithDefault("0.0.0.0")
        String host();

        /** Port to bind; 0 picks a free one (tests). */
        @WithDefault("15001")
        int port();

        /**
         * Open connections the egress holds from one client address; more are closed at accept, before any TLS work
         * (WARN once a minute per address, {@code isthmus_refused_connections_total{listener="egress"}}). Generous:
         * many pods may reach the egress from one node address (host-network pods, SNAT), so this only stops one
         * address from taking more than a quarter of {@code max-connections}. Set it to {@code max-connections} to
         * turn it off (every caller behind one address, e.g. a load balancer that hides them).
         */
        @WithName("max-connections-per-client")
        @WithDefault("2048")
        int maxConnectionsPerClient();

        /**
         * Open connections the egress holds in all; more are closed at accept. The TCP listeners
         * ({@code tcp-listeners}) together hold as many again, with the same limits.
         */
        @WithName("max-connections")
        @WithDefault("8192")
        int maxConnections();
    }

    interface Outlier {
        /** Failed connects in a row to a cluster's ingress after which callers skip it. */
        @WithName("consecutive-failures")
        @WithDefault("3")
        int consecutiveFailures();

        /** How long a cluster is skipped the first time; each ejection in a row without a success doubles it. */
        @WithName("base-ejection")
        @WithDefault("10s")
        Duration baseEjection();

        /** The longest a cluster is skipped at once. */
        @WithName("max-ejection")
        @WithDefault("2m")
        Duration maxEjection();
    }

    interface Locality {
        /** Region, as the Kubernetes label {@code topology.kubernetes.io/region} names it. */
        Optional<String> region();

        /** Zone, as {@code topology.kubernetes.io/zone} names it. */
        Optional<String> zone();
    }
}
