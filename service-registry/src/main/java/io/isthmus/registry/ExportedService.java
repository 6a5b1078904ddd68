package io.isthmus.registry;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

import io.isthmus.trust.spiffe.SpiffeId;

/**
 * A service one cluster offers the federation: its ports, the SPIFFE IDs that serve it, where the owning
 * cluster's ingress is, the cluster's locality, how many endpoints are ready, a revision that increases with
 * every change, and a lease: the owner heartbeats {@code heartbeat}; once {@code heartbeat + lease} has passed
 * the entry is stale, stays visible, and is not routed to.
 */
public record ExportedService(ServiceKey key, List<ServicePort> ports, List<SpiffeId> identities,
        IngressAddress ingress, Locality locality, int readyEndpoints, long revision, Instant heartbeat,
        Duration lease) {

    public ExportedService {
        Objects.requireNonNull(key, "key");
        ports = List.copyOf(ports);
        identities = List.copyOf(identities);
        Objects.requireNonNull(ingress, "ingress");
        Objects.requireNonNull(locality, "locality");
        Objects.requireNonNull(heartbeat, "heartbeat");
        Objects.requireNonNull(lease, "lease");
        if (readyEndpoints < 0) {
            throw new IllegalArgumentException("ready endpoint count must not be negative");
        }
    }

    public MeshName meshName(String suffix) {
        return new MeshName(key.name(), key.namespace(), suffix);
    }

    public boolean stale(Instant now) {
        return now.isAfter(heartbeat.plus(lease));
    }

    /** Offered for routing: the lease holds and at least one endpoint is ready. */
    public boolean routable(Instant now) {
        return !stale(now) && readyEndpoints > 0;
    }
}
