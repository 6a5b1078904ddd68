package io.isthmus.registry;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.isthmus.trust.spiffe.TrustDomain;

/**
 * {@link ServiceResolver} over a {@link Registry}: the exports of a mesh name whose lease holds and that have
 * ready endpoints, nearest first ({@link LocalityOrder}). Reads the registry's in-memory index only.
 *
 * <p>With the federation's clusters and their trust domains, only exports of those clusters are offered, and each
 * one's ingress must be served by a gateway of its cluster's trust domain ({@link #trustDomainOf}).
 */
public final class RegistryResolver implements ServiceResolver {
    private final Registry registry;
    private final Clock clock;
    /** Replaced whole when the federation's membership changes ({@link #clusters(Map)}). */
    private volatile Map<String, TrustDomain> clusters;

    /** Without cluster trust domains: every export is offered and the egress pins no peer trust domain. */
    public RegistryResolver(Registry registry, Clock clock) {
        this.registry = registry;
        this.clock = clock;
        this.clusters = null;
    }

    /** @param clusters every cluster of the federation (this one included) and its trust domain */
    public RegistryResolver(Registry registry, Clock clock, Map<String, TrustDomain> clusters) {
        this.registry = registry;
        this.clock = clock;
        this.clusters = Map.copyOf(clusters);
    }

    /**
     * Puts a new set of clusters in force (a membership change): exports of a cluster that left are no longer
     * offered from the next resolution on, those of one that joined are.
     */
    public void clusters(Map<String, TrustDomain> next) {
        this.clusters = Map.copyOf(next);
    }

    @Override
    public List<ExportedService> resolve(MeshName name, Locality from) {
        Map<String, TrustDomain> clusters = this.clusters;
        List<ExportedService> ranked = LocalityOrder.rank(registry.exportsOf(name), from, clock.instant());
        if (clusters == null || ranked.stream().allMatch(e -> clusters.containsKey(e.key().cluster()))) {
            return ranked;
        }
        return ranked.stream().filter(e -> clusters.containsKey(e.key().cluster())).toList();
    }

    @Override
    public Optional<TrustDomain> trustDomainOf(String cluster) {
        Map<String, TrustDomain> clusters = this.clusters;
        return clusters == null ? Optional.empty() : Optional.ofNullable(clusters.get(cluster));
    }
}
