package io.isthmus.trust.runtime;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.endpoint.ConnectionLimits;
import io.isthmus.trust.federation.PeerConfig;
import io.isthmus.trust.federation.SyncSettings;
import io.isthmus.trust.reload.CaFiles;
import io.isthmus.trust.rotation.RotationSettings;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * What a gateway's trust plane is made of. {@code dataDir} holds the persisted bundles (local and peers) and the
 * rotation state; {@code bundleEndpoint} is where the SPIFFE bundle endpoint listens (port 0 for any free port);
 * {@code caFiles}, when given, are watched so that new roots and intermediates apply without a restart;
 * {@code bundleEndpointLimits} bound the bundle endpoint's open connections.
 */
public record TrustSettings(TrustDomain trustDomain, FederationRoots roots, CaCredential intermediate,
        SpiffeId gatewayId, Path dataDir, InetSocketAddress bundleEndpoint, Duration bundleRefreshHint,
        Duration svidTtl, Duration clockSkew, List<PeerConfig> peers, SyncSettings sync, RotationSettings rotation,
        Optional<CaFiles> caFiles, ConnectionLimits bundleEndpointLimits) {

    public TrustSettings {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(roots, "roots");
        Objects.requireNonNull(intermediate, "intermediate");
        Objects.requireNonNull(gatewayId, "gatewayId");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(bundleEndpoint, "bundleEndpoint");
        Objects.requireNonNull(rotation, "rotation");
        Objects.requireNonNull(caFiles, "caFiles");
        Objects.requireNonNull(bundleEndpointLimits, "bundleEndpointLimits");
        peers = List.copyOf(peers);
        if (!gatewayId.memberOf(trustDomain)) {
            throw new IllegalArgumentException("gateway ID " + gatewayId + " is not in trust domain " + trustDomain);
        }
        for (PeerConfig peer : peers) {
            if (peer.trustDomain().equals(trustDomain)) {
                throw new IllegalArgumentException("peer " + peer.name() + " has this gateway's own trust domain "
                        + trustDomain);
            }
        }
    }

    /** With the default bundle endpoint limits. */
    public TrustSettings(TrustDomain trustDomain, FederationRoots roots, CaCredential intermediate, SpiffeId gatewayId,
            Path dataDir, InetSocketAddress bundleEndpoint, Duration bundleRefreshHint, Duration svidTtl,
            Duration clockSkew, List<PeerConfig> peers, SyncSettings sync, RotationSettings rotation,
            Optional<CaFiles> caFiles) {
        this(trustDomain, roots, intermediate, gatewayId, dataDir, bundleEndpoint, bundleRefreshHint, svidTtl, clockSkew,
                peers, sync, rotation, caFiles, ConnectionLimits.DEFAULTS);
    }

    /** Without watched files, with rotation defaults for {@code svidTtl}. */
    public TrustSettings(TrustDomain trustDomain, FederationRoots roots, CaCredential intermediate, SpiffeId gatewayId,
            Path dataDir, InetSocketAddress bundleEndpoint, Duration bundleRefreshHint, Duration svidTtl,
            Duration clockSkew, List<PeerConfig> peers, SyncSettings sync) {
        this(trustDomain, roots, intermediate, gatewayId, dataDir, bundleEndpoint, bundleRefreshHint, svidTtl, clockSkew,
                peers, sync, RotationSettings.defaults(svidTtl), Optional.empty());
    }
}
