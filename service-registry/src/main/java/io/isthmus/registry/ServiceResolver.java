package io.isthmus.registry;

import java.util.List;

/**
 * Resolves a mesh name to the clusters that can serve it, for the east-west egress. Called per request (or per
 * connection): must be fast, non-blocking and thread-safe, and must reflect the registry as it is now.
 */
public interface ServiceResolver {

    /**
     * The exports of {@code name} that may be routed to now (lease held, ready endpoints), nearest first as
     * {@link LocalityOrder} ranks them from {@code from}. Empty when no cluster can serve it.
     */
    List<ExportedService> resolve(MeshName name, Locality from);
}
