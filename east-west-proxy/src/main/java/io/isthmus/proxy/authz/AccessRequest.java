package io.isthmus.proxy.authz;

import java.util.Objects;
import java.util.Optional;

import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * What the destination's ingress asks its policy: may {@code source} (a verified caller identity, already checked
 * to belong to the trust domain of the gateway that vouched for it) call {@code destination} on {@code port} with
 * {@code method} and {@code path}? For L4 (TCP) traffic method and path are empty. {@code peerGateway} is the
 * SPIFFE ID of the peer gateway that vouched for the caller (mTLS client certificate), when there is one; it is
 * recorded in the audit log and not used by the policy.
 */
public record AccessRequest(SpiffeId source, MeshName destination, int port, Optional<String> method,
        Optional<String> path, Optional<SpiffeId> peerGateway) {
    public AccessRequest {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(peerGateway, "peerGateway");
    }

    /** A request without a known peer gateway (kept for callers written before {@code peerGateway} existed). */
    public AccessRequest(SpiffeId source, MeshName destination, int port, Optional<String> method,
            Optional<String> path) {
        this(source, destination, port, method, path, Optional.empty());
    }

    public static AccessRequest http(SpiffeId source, MeshName destination, int port, String method, String path) {
        return new AccessRequest(source, destination, port, Optional.of(method), Optional.of(path));
    }

    public static AccessRequest tcp(SpiffeId source, MeshName destination, int port) {
        return new AccessRequest(source, destination, port, Optional.empty(), Optional.empty());
    }

    /** The same request, vouched for by the peer gateway {@code gateway}. */
    public AccessRequest viaGateway(SpiffeId gateway) {
        return new AccessRequest(source, destination, port, method, path, Optional.of(gateway));
    }
}
