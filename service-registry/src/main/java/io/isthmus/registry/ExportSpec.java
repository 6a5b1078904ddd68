package io.isthmus.registry;

import java.util.List;
import java.util.Objects;

import io.isthmus.trust.spiffe.SpiffeId;

/**
 * What a source (Kubernetes watcher, VM agent, static config) says about one service it exports. The registry
 * adds what the cluster knows (ingress address, locality, lease) and keeps revision and heartbeat.
 */
public record ExportSpec(ServiceKey key, List<ServicePort> ports, List<SpiffeId> identities, int readyEndpoints) {
    public ExportSpec {
        Objects.requireNonNull(key, "key");
        new MeshName(key.name(), key.namespace(), MeshName.DEFAULT_SUFFIX);
        ports = List.copyOf(ports);
        identities = List.copyOf(identities);
        if (readyEndpoints < 0) {
            throw new IllegalArgumentException("ready endpoint count of " + key + " must not be negative");
        }
    }
}
