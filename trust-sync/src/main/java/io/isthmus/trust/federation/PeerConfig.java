package io.isthmus.trust.federation;

import java.net.URI;
import java.util.Objects;
import java.util.Optional;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * A federated peer: its trust domain and its SPIFFE bundle endpoint ({@code https_spiffe} profile). When
 * {@code endpointId} is given, the endpoint must present exactly that SPIFFE ID; otherwise any ID of the peer's
 * trust domain.
 */
public record PeerConfig(String name, TrustDomain trustDomain, URI bundleEndpoint, Optional<SpiffeId> endpointId) {
    public PeerConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(bundleEndpoint, "bundleEndpoint");
        Objects.requireNonNull(endpointId, "endpointId");
        if (!"https".equals(bundleEndpoint.getScheme())) {
            throw new IllegalArgumentException("peer " + name + ": bundle endpoint " + bundleEndpoint
                    + " must be an https:// URL (https_spiffe profile)");
        }
        endpointId.ifPresent(id -> {
            if (!id.memberOf(trustDomain)) {
                throw new IllegalArgumentException("peer " + name + ": endpoint SPIFFE ID " + id
                        + " is not in the peer's trust domain " + trustDomain);
            }
        });
    }
}
