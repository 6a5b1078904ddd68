package io.isthmus.registry;

import java.util.List;
import java.util.Optional;

/**
 * The federation's service registry as one gateway sees it: every cluster's exports, replicated between sites.
 * Writes are allowed only for keys of this gateway's own cluster ({@link #cluster()}); anything else throws
 * {@link NotOwnerException}. Reads reflect local writes at once and other sites' writes as they arrive.
 * Thread-safe.
 */
public interface Registry {

    /** The cluster (site) whose keys this registry may write. */
    String cluster();

    /** The mesh-name suffix, e.g. {@code svc.clusterset.local}. */
    String meshSuffix();

    /**
     * Creates or updates an export of this cluster and renews its lease. The revision increases only when the
     * content changed.
     *
     * @throws NotOwnerException when {@code spec.key()} belongs to another cluster
     */
    ExportedService export(ExportSpec spec);

    /**
     * Removes an export of this cluster everywhere.
     *
     * @return whether it existed
     * @throws NotOwnerException when {@code key} belongs to another cluster
     */
    boolean unexport(ServiceKey key);

    /** Renews the lease of every export of this cluster; returns how many. */
    int heartbeat();

    /** Entries matching {@code query}, sorted by cluster, namespace, name. */
    List<ExportedService> list(RegistryQuery query);

    /** One entry. */
    Optional<ExportedService> get(ServiceKey key);

    /** All clusters' exports of one mesh name (stale ones included), sorted by cluster. */
    List<ExportedService> exportsOf(MeshName name);

    void addListener(RegistryListener listener);

    void removeListener(RegistryListener listener);
}
