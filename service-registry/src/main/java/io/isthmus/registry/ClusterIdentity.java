package io.isthmus.registry;

import java.time.Duration;
import java.util.Objects;

/**
 * What this cluster stamps on every export it writes.
 *
 * @param cluster the cluster (and site) name, the first part of every key it owns
 * @param ingress the public address of this cluster's east-west ingress
 * @param locality where this cluster runs
 * @param lease how long an export stays routable without a heartbeat
 * @param meshSuffix the mesh-name suffix, e.g. {@code svc.clusterset.local}
 */
public record ClusterIdentity(String cluster, IngressAddress ingress, Locality locality, Duration lease, String meshSuffix) {
    public ClusterIdentity {
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(ingress, "ingress");
        Objects.requireNonNull(locality, "locality");
        Objects.requireNonNull(meshSuffix, "meshSuffix");
        if (cluster.isBlank() || cluster.contains("/")) {
            throw new IllegalArgumentException("cluster name '" + cluster + "' must be non-empty and contain no '/'");
        }
        // Every site refuses a record whose address or locality breaks these rules: refuse to start with them instead.
        ExportFields.location(ingress, locality).ifPresent(p -> {
            throw new IllegalArgumentException("this cluster's " + p.message());
        });
        if (lease == null || lease.isNegative() || lease.isZero()) {
            throw new IllegalArgumentException("lease TTL must be positive, got " + lease);
        }
    }
}
