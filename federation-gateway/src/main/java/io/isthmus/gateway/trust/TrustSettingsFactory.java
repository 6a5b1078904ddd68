package io.isthmus.gateway.trust;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.isthmus.gateway.config.ConfigException;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.endpoint.ConnectionLimits;
import io.isthmus.trust.federation.PeerConfig;
import io.isthmus.trust.federation.SyncSettings;
import io.isthmus.trust.reload.CaFiles;
import io.isthmus.trust.rotation.RotationSettings;
import io.isthmus.trust.runtime.TrustSettings;
import io.isthmus.trust.spiffe.InvalidSpiffeIdException;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Pem;
import io.isthmus.trust.x509.PemException;

/** Turns {@link GatewayConfig} into {@link TrustSettings}, failing with the offending key named. Pure apart from file reads. */
public final class TrustSettingsFactory {
    private TrustSettingsFactory() {
    }

    public static TrustSettings from(GatewayConfig config, Clock clock) throws IOException {
        return from(config, clock, config.ca().svidTtl());
    }

    /**
     * @param longestSvidTtl the longest lifetime of any SVID this gateway signs (its own, workloads', VMs'): the old
     *     intermediate of a rotation retires that long after the new one was activated
     */
    public static TrustSettings from(GatewayConfig config, Clock clock, Duration longestSvidTtl) throws IOException {
        TrustDomain td = trustDomain("isthmus.trust-domain", config.trustDomain());
        GatewayConfig.Ca ca = config.ca();
        Path rootFile;
        Path keyFile;
        Path chainFile;
        if (ca.intermediateKey().isEmpty() && ca.intermediateChain().isEmpty() && ca.rootCertificates().isEmpty()
                && config.dev().generateCa()) {
            DevCa.DevCaFiles dev = DevCa.ensure(config.dataDir(), td, clock);
            rootFile = dev.root();
            keyFile = dev.intermediateKey();
            chainFile = dev.intermediateChain();
        } else {
            rootFile = required("isthmus.ca.root-certificates", ca.rootCertificates());
            keyFile = required("isthmus.ca.intermediate-key", ca.intermediateKey());
            chainFile = required("isthmus.ca.intermediate-chain", ca.intermediateChain());
        }
        FederationRoots roots;
        try {
            roots = new FederationRoots(Pem.readCertificates(rootFile));
        } catch (IllegalArgumentException e) {
            throw new ConfigException("isthmus.ca.root-certificates", e.getMessage(), e);
        }
        PrivateKey key;
        try {
            key = Pem.readPrivateKey(keyFile);
        } catch (PemException e) {
            throw new ConfigException("isthmus.ca.intermediate-key", e.getMessage(), e);
        }
        CaCredential intermediate;
        try {
            List<X509Certificate> chain = new ArrayList<>(Pem.readCertificates(chainFile));
            // A chain file may end with the root; the credential holds only what sits below it.
            chain.removeIf(roots.certificates()::contains);
            intermediate = new CaCredential(key, chain);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("isthmus.ca.intermediate-chain", e.getMessage(), e);
        }
        SpiffeId gatewayId;
        try {
            gatewayId = SpiffeId.ofServiceAccount(td, config.identity().namespace(), config.identity().serviceAccount());
        } catch (InvalidSpiffeIdException e) {
            throw new ConfigException("isthmus.identity", e.getMessage(), e);
        }
        List<PeerConfig> peers = new ArrayList<>();
        for (Map.Entry<String, GatewayConfig.Peer> e : config.peers().entrySet()) {
            String prefix = "isthmus.peers." + e.getKey();
            GatewayConfig.Peer p = e.getValue();
            TrustDomain peerTd = trustDomain(prefix + ".trust-domain", p.trustDomain());
            Optional<SpiffeId> endpointId;
            try {
                endpointId = p.endpointSpiffeId().map(SpiffeId::parse);
            } catch (InvalidSpiffeIdException ex) {
                throw new ConfigException(prefix + ".endpoint-spiffe-id", ex.getMessage(), ex);
            }
            try {
                peers.add(new PeerConfig(e.getKey(), peerTd, p.bundleEndpointUrl(), endpointId));
            } catch (IllegalArgumentException ex) {
                throw new ConfigException(prefix, ex.getMessage(), ex);
            }
        }
        GatewayConfig.BundleSync s = config.bundleSync();
        SyncSettings sync;
        try {
            sync = new SyncSettings(s.defaultRefresh(), s.minRefresh(), s.maxRefresh(), s.initialBackoff(),
                    s.fetchTimeout(), s.staleFactor());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("isthmus.bundle-sync", e.getMessage(), e);
        }
        GatewayConfig.BundleEndpoint be = config.bundleEndpoint();
        RotationSettings rotation = rotation(config, longestSvidTtl);
        CaFiles files;
        try {
            files = new CaFiles(rootFile, keyFile, chainFile, ca.reloadInterval());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("isthmus.ca.reload-interval", e.getMessage(), e);
        }
        ConnectionLimits limits;
        try {
            limits = new ConnectionLimits(be.maxConnectionsPerClient(), be.maxConnections(),
                    ConnectionLimits.DEFAULTS.warnInterval());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("isthmus.bundle-endpoint", e.getMessage(), e);
        }
        try {
            return new TrustSettings(td, roots, intermediate, gatewayId, config.dataDir(),
                    new InetSocketAddress(be.host(), be.port()), be.refreshHint(), ca.svidTtl(), ca.clockSkew(), peers,
                    sync, rotation, Optional.of(files), limits);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("isthmus", e.getMessage(), e);
        }
    }

    private static RotationSettings rotation(GatewayConfig config, Duration longestSvidTtl) {
        GatewayConfig.Rotation r = config.rotation();
        try {
            return new RotationSettings(r.retireAfter().orElse(longestSvidTtl), r.tick(), r.peerStatusTimeout(),
                    r.agentRefresh(), r.expiryWarningFraction());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("isthmus.rotation", e.getMessage(), e);
        }
    }

    private static TrustDomain trustDomain(String key, String value) {
        try {
            return TrustDomain.parse(value);
        } catch (InvalidSpiffeIdException e) {
            throw new ConfigException(key, e.getMessage(), e);
        }
    }

    private static Path required(String key, Optional<Path> value) {
        Path p = value.orElseThrow(() -> new ConfigException(key, "is required (or set isthmus.dev.generate-ca=true "
                + "for a throwaway development CA)"));
        if (!Files.isReadable(p)) {
            throw new ConfigException(key, "file " + p + " does not exist or is not readable");
        }
        return p;
    }
}
