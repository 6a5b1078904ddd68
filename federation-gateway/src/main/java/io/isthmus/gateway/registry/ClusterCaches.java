package io.isthmus.gateway.registry;

import java.nio.file.Path;

import org.infinispan.manager.EmbeddedCacheManager;

import io.isthmus.gateway.agent.VmServiceRegistry;
import io.isthmus.gateway.enrolment.EnrolmentCluster;
import io.isthmus.gateway.jwt.ReplicaKeyDirectory;
import io.isthmus.gateway.jwt.rotation.RotationChannel;

/**
 * Every cache a gateway's replicas share besides the registry's, defined (not started) on the cache manager before it
 * joins the cluster ({@link io.isthmus.registry.xsite.RegistryNode#start}). Infinispan's coordinator takes a cache's
 * partition handling and merge policy from its own definition of the cache when a replica first starts it, and keeps
 * them: a replica that started its join-token cache before the coordinator had defined it (two replicas started
 * together) left the coordinator's join-token cache with neither, so that replica never lost its majority in a
 * partition (no degraded mode, no cut-off grace for VMs), and at the heal no conflict was resolved, so the merge
 * policies (a VM revocation made on either side wins) never ran. Each feature still defines its cache where it uses
 * it, for a lone gateway; those definitions are idempotent.
 */
public final class ClusterCaches {
    private ClusterCaches() {
    }

    /**
     * @param enrolmentStoreDir where the enrolment caches persist, or null ({@link EnrolmentCluster#storeDir})
     * @param vmServicesStoreDir where the VM services' cache persists ({@link VmServiceRegistry#storeDir})
     */
    public static void define(EmbeddedCacheManager manager, Path enrolmentStoreDir, Path vmServicesStoreDir) {
        EnrolmentCluster.defineCaches(manager, enrolmentStoreDir);
        ReplicaKeyDirectory.defineCache(manager);
        RotationChannel.defineCache(manager);
        VmServiceRegistry.defineCache(manager, vmServicesStoreDir);
    }
}
