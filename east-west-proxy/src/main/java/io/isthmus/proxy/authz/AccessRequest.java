package io.isthmus.proxy.authz;

import java.util.Objects;
import java.util.Optional;

import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * What the destination's ingress asks its policy: may {@code source} (a verified caller identity, already checked
 * to belong to the trust domain of the gateway that vouched for it) call {@code destination} on {@code port} with
 * {@code method} and {@code path}? For L4 (TCP) traffic method and path are empty.
 */
public record AccessRequest(SpiffeId source, MeshName destination, int port, Optional<String> method,
        Optional<String> path) {
    public AccessRequest {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(path, "path");
    }

    public static AccessRequest http(SpiffeId source, MeshName destination, int port, String method, String path) {
        return new AccessRequest(source, destination, port, Optional.of(method), Optional.of(path));
    }

    public static AccessRequest tcp(SpiffeId source, MeshName destination, int port) {
        return new AccessRequest(source, destination, port, Optional.empty(), Optional.empty());
    }
}
