package io.isthmus.registry;

import java.time.Clock;
import java.util.List;

/**
 * {@link ServiceResolver} over a {@link Registry}: the exports of a mesh name whose lease holds and that have
 * ready endpoints, nearest first ({@link LocalityOrder}). Reads the registry's in-memory index only.
 */
public final class RegistryResolver implements ServiceResolver {
    private final Registry registry;
    private final Clock clock;

    public RegistryResolver(Registry registry, Clock clock) {
        this.registry = registry;
        this.clock = clock;
    }

    @Override
    public List<ExportedService> resolve(MeshName name, Locality from) {
        return LocalityOrder.rank(registry.exportsOf(name), from, clock.instant());
    }
}
