package io.isthmus.gateway.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/**
 * The gateway's configuration, prefix {@code isthmus}. Immutable; bad values fail startup naming the key.
 */
@ConfigMapping(prefix = "isthmus")
public interface GatewayConfig {

    /** This cluster's SPIFFE trust domain, e.g. {@code aws-east.acme.internal}. Every identity it issues lives in it. */
    @WithName("trust-domain")
    String trustDomain();

    /** Short name of this cluster (used in registry keys and metrics), e.g. {@code aws-east}. */
    @WithName("cluster-name")
    Optional<String> clusterName();

    /** Where the gateway keeps state that must survive restarts: peer bundles, its own bundle's sequence. */
    @WithName("data-dir")
    @WithDefault("/var/lib/isthmus")
    Path dataDir();

    /** The certificate authority material of this cluster. */
    Ca ca();

    /** The gateway's own identity. */
    Identity identity();

    /** The SPIFFE bundle endpoint this gateway serves ({@code https_spiffe} profile). */
    @WithName("bundle-endpoint")
    BundleEndpoint bundleEndpoint();

    /** How peers' bundle endpoints are polled. */
    @WithName("bundle-sync")
    BundleSync bundleSync();

    /** Federated peers by name (e.g. {@code isthmus.peers.gcp-west.trust-domain=gcp-west.acme.internal}). */
    Map<String, Peer> peers();

    /** Development-only settings. */
    Dev dev();

    interface Ca {
        /**
         * PEM file with the federation root certificate(s). Two roots while the root rotates. Required unless
         * {@code isthmus.dev.generate-ca=true}.
         */
        @WithName("root-certificates")
        Optional<Path> rootCertificates();

        /** PEM file with this cluster's intermediate CA private key (PKCS#8 or SEC1). Keep it 0600. */
        @WithName("intermediate-key")
        Optional<Path> intermediateKey();

        /** PEM file with this cluster's intermediate certificate (signed by the root, name-constrained). */
        @WithName("intermediate-chain")
        Optional<Path> intermediateChain();

        /** Lifetime of SVIDs this gateway issues (its own and workloads'); renewed at half life. */
        @WithName("svid-ttl")
        @WithDefault("1h")
        Duration svidTtl();

        /** How far a peer's clock may be off when checking certificate validity. */
        @WithName("clock-skew")
        @WithDefault("30s")
        Duration clockSkew();

        /**
         * How often the root, intermediate key and chain files are looked at for a new content (a Kubernetes Secret
         * update or a file replaced atomically), which then applies without a restart.
         */
        @WithName("reload-interval")
        @WithDefault("10s")
        Duration reloadInterval();
    }

    /** Rotation of this cluster's intermediate ({@code isthmus rotate intermediate}, the admin API, or a new file). */
    Rotation rotation();

    interface Rotation {
        /**
         * How long after activating a new intermediate the old one leaves the bundle: the longest lifetime of what it
         * signed. Default: the longest SVID lifetime this gateway issues ({@code isthmus.ca.svid-ttl},
         * {@code isthmus.enrolment.svid-ttl}); plus the clock skew.
         */
        @WithName("retire-after")
        Optional<Duration> retireAfter();

        /** How often the clock-driven steps run (retirement when due, the steps of a file-driven rotation). */
        @WithDefault("5s")
        Duration tick();

        /** How long {@code wait} waits for each peer's trust status answer. */
        @WithName("peer-status-timeout")
        @WithDefault("5s")
        Duration peerStatusTimeout();

        /**
         * How often VM agents are told to fetch bundles ({@code GET /v1/agent/trust}); a new CA is activated no sooner
         * than this after it was published, so that agents hold it first.
         */
        @WithName("agent-refresh")
        @WithDefault("5m")
        Duration agentRefresh();

        /**
         * Readiness warns (data {@code intermediate-expiry}, health group {@code rotation} DOWN, a log line) when the
         * active intermediate has less than this fraction of its lifetime left.
         */
        @WithName("expiry-warning-fraction")
        @WithDefault("0.2")
        double expiryWarningFraction();
    }

    interface Identity {
        /** Namespace in the gateway's SPIFFE ID {@code spiffe://<td>/ns/<namespace>/sa/<service-account>}. */
        @WithDefault("isthmus-system")
        String namespace();

        /** Service account in the gateway's SPIFFE ID. */
        @WithName("service-account")
        @WithDefault("isthmus-gateway")
        String serviceAccount();
    }

    interface BundleEndpoint {
        /** Interface the bundle endpoint binds to. */
        @WithDefault("0.0.0.0")
        String host();

        /** Port of the bundle endpoint. 0 picks a free port (tests). */
        @WithDefault("8443")
        int port();

        /** The {@code spiffe_refresh_hint} this gateway publishes: how often peers should poll it. */
        @WithName("refresh-hint")
        @WithDefault("5m")
        Duration refreshHint();

        /**
         * Open connections one client address may hold; more are closed at once (counted, and logged at most once a
         * minute per address). A peer needs one or two at a time; raise it for many peers behind one NAT address.
         */
        @WithName("max-connections-per-client")
        @WithDefault("16")
        int maxConnectionsPerClient();

        /** Open connections in all; more are closed at once. At least {@code max-connections-per-client}. */
        @WithName("max-connections")
        @WithDefault("1024")
        int maxConnections();
    }

    interface BundleSync {
        /** Poll interval for peers whose bundle has no refresh hint. */
        @WithName("default-refresh")
        @WithDefault("5m")
        Duration defaultRefresh();

        /** Peers' refresh hints are clamped to at least this. */
        @WithName("min-refresh")
        @WithDefault("1s")
        Duration minRefresh();

        /** Peers' refresh hints are clamped to at most this. */
        @WithName("max-refresh")
        @WithDefault("1h")
        Duration maxRefresh();

        /** First retry delay after a failed poll; doubles up to the refresh interval. */
        @WithName("initial-backoff")
        @WithDefault("1s")
        Duration initialBackoff();

        /** Connect and response timeout of one poll. */
        @WithName("fetch-timeout")
        @WithDefault("10s")
        Duration fetchTimeout();

        /** A peer's bundle is stale after this many refresh intervals without a successful poll. */
        @WithName("stale-factor")
        @WithDefault("3")
        int staleFactor();
    }

    interface Peer {
        /** The peer's trust domain; its bundle must contain only CAs constrained to it. */
        @WithName("trust-domain")
        String trustDomain();

        /** The peer's SPIFFE bundle endpoint, {@code https://host:8443/}. */
        @WithName("bundle-endpoint-url")
        URI bundleEndpointUrl();

        /** When set, the bundle endpoint must present exactly this SPIFFE ID; otherwise any ID of the peer's domain. */
        @WithName("endpoint-spiffe-id")
        Optional<String> endpointSpiffeId();

        /**
         * The SPIFFE IDs the peer's gateways present, comma-separated: the only identities of its trust domain whose
         * vouching for a caller ({@code x-isthmus-caller}) this gateway's ingress accepts. Any other SVID of the
         * peer's trust domain that calls the ingress is itself the caller. Each must be in the peer's trust domain.
         * Default: {@code spiffe://<trust-domain>/ns/isthmus-system/sa/isthmus-gateway}.
         */
        @WithName("gateway-ids")
        Optional<List<String>> gatewayIds();
    }

    interface Dev {
        /**
         * Generate a throwaway federation root and intermediate in {@code <data-dir>/dev-ca} when no CA files are
         * configured. Development only: logged loudly, never for production.
         */
        @WithName("generate-ca")
        @WithDefault("false")
        boolean generateCa();

        /**
         * Runs this gateway on a clock that is off by this much (e.g. {@code -20s}): every certificate, lease and
         * reported time uses it. For testing what clock skew does to a federation and that {@code isthmus check}
         * finds it; logged as a warning at start. Never set it in production.
         */
        @WithName("clock-offset")
        @WithDefault("0s")
        Duration clockOffset();
    }
}
