package io.isthmus.gateway.agent;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.infinispan.Cache;
import org.infinispan.configuration.cache.CacheMode;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.manager.EmbeddedCacheManager;
import org.jboss.logging.Logger;

import io.isthmus.proxy.ingress.LocalBackends;
import io.isthmus.registry.ExportSpec;
import io.isthmus.registry.MeshName;
import io.isthmus.registry.Registry;
import io.isthmus.registry.ServiceKey;
import io.isthmus.registry.ServicePort;
import io.isthmus.trust.concurrent.Workers;
import io.quarkus.runtime.Startup;

/**
 * Services that enrolled VMs registered with this gateway: each is exported into the registry under this cluster
 * (identity = the VM's SPIFFE ID) and its backend ({@code VM address:backendPort}) is kept in a cache replicated
 * among this cluster's gateway replicas (a local cache when the registry does not replicate), which the ingress
 * consults as {@link LocalBackends}. A registration lives for {@link AgentServicesConfig#lease()} after its last
 * renewal; every replica sweeps expired ones and removes their exports. Thread-safe.
 */
@ApplicationScoped
@Startup
public class VmServiceRegistry implements LocalBackends {
    private static final Logger LOG = Logger.getLogger(VmServiceRegistry.class);
    static final String CACHE = "isthmus-vm-services";

    private final Registry registry;
    private final Clock clock;
    private final AgentServicesConfig config;
    private final Cache<String, String> cache;
    private final ScheduledExecutorService sweeper;
    private volatile boolean stopping;

    @Inject
    public VmServiceRegistry(Registry registry, EmbeddedCacheManager cacheManager, Clock clock, AgentServicesConfig config,
            io.isthmus.gateway.config.GatewayConfig gateway) {
        this(registry, cacheManager, clock, config, storeDir(gateway));
    }

    /** Where the gateway persists the VM services' cache. */
    public static java.nio.file.Path storeDir(io.isthmus.gateway.config.GatewayConfig gateway) {
        return gateway.dataDir().resolve("vm-services");
    }

    /** Defines the VM services' cache, without starting it (idempotent). */
    public static void defineCache(EmbeddedCacheManager cacheManager, java.nio.file.Path storeDir) {
        if (cacheManager.cacheExists(CACHE) || cacheManager.getCacheConfiguration(CACHE) != null) {
            return;
        }
        ConfigurationBuilder c = new ConfigurationBuilder();
        if (cacheManager.getCacheManagerConfiguration().isClustered()) {
            // Among this cluster's replicas only: another cluster reaches a VM through this cluster's ingress.
            c.clustering().cacheMode(CacheMode.REPL_SYNC);
        }
        if (storeDir != null) {
            java.nio.file.Path dir = storeDir.toAbsolutePath();
            c.persistence().addSoftIndexFileStore().preload(true)
                    .dataLocation(dir.resolve("data").toString()).indexLocation(dir.resolve("index").toString());
        }
        cacheManager.defineConfiguration(CACHE, c.build());
    }

    /**
     * @param storeDir where the registrations are persisted, so that a gateway restarted while its VMs are gone
     *     still knows which of its exports are VM services and removes them when their lease runs out (the registry
     *     itself comes back from the other sites and would otherwise keep renewing them); null: not persisted
     */
    VmServiceRegistry(Registry registry, EmbeddedCacheManager cacheManager, Clock clock, AgentServicesConfig config,
            java.nio.file.Path storeDir) {
        this.registry = registry;
        this.clock = clock;
        this.config = config;
        defineCache(cacheManager, storeDir);
        this.cache = cacheManager.getCache(CACHE);
        this.sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "isthmus-vm-services-sweeper");
            t.setDaemon(true);
            return t;
        });
        long every = Math.max(50, config.sweepInterval().toMillis());
        sweeper.scheduleWithFixedDelay(this::sweepSafely, every, every, TimeUnit.MILLISECONDS);
    }

    /** Creates or renews a registration and (re-)exports the service; returns the stored record. */
    public VmServiceRecord register(VmServiceRecord.Request request) {
        VmServiceRecord record = new VmServiceRecord(request.namespace(), request.name(), request.port(),
                request.protocol(), request.backendHost(), request.backendPort(), request.owner(),
                clock.instant().plus(config.lease()));
        Optional<VmServiceRecord> previous = Optional.ofNullable(cache.get(record.key())).map(VmServiceRecord::decode);
        ServiceKey key = new ServiceKey(registry.cluster(), record.namespace(), record.name());
        if (VmServiceClaim.register(record.key(), exported(key), previous, record.owner(), clock.instant())
                instanceof VmServiceClaim.Refused refused) {
            throw new VmServiceException(refused.code(), refused.message());
        }
        registry.export(new ExportSpec(new ServiceKey(registry.cluster(), record.namespace(), record.name()),
                List.of(new ServicePort(record.protocol().name().toLowerCase(java.util.Locale.ROOT), record.port(),
                        record.protocol())),
                List.of(record.owner()), 1));
        cache.put(record.key(), record.encode());
        return record;
    }

    /** Removes a registration of {@code owner}; returns whether it existed. */
    public boolean unregister(io.isthmus.trust.spiffe.SpiffeId owner, String namespace, String name) {
        String key = VmServiceRecord.key(namespace, name);
        String current = cache.get(key);
        if (current == null) {
            return false;
        }
        VmServiceRecord old = VmServiceRecord.decode(current);
        if (!old.owner().equals(owner)) {
            throw new VmServiceException(VmServiceException.Code.OWNED_BY_ANOTHER_VM, key + " is registered by "
                    + old.owner());
        }
        cache.remove(key, current);
        unexportIfTheVms(old);
        return true;
    }

    /**
     * Whether a VM registered {@code key} of this cluster (live or not yet swept) and the export is still that VM's:
     * other sources of this cluster's exports (the Kubernetes ServiceExport watcher) must leave it alone.
     */
    public boolean registered(ServiceKey key) {
        if (!key.cluster().equals(registry.cluster())) {
            return false;
        }
        String v = cache.get(VmServiceRecord.key(key.namespace(), key.name()));
        return v != null && VmServiceClaim.exportIsTheVms(exported(key), VmServiceRecord.decode(v));
    }

    /** Live registrations, sorted by key. */
    public List<VmServiceRecord> list() {
        List<VmServiceRecord> out = new ArrayList<>();
        for (String v : cache.values()) {
            VmServiceRecord r = VmServiceRecord.decode(v);
            if (!r.expired(clock.instant())) {
                out.add(r);
            }
        }
        out.sort(java.util.Comparator.comparing(VmServiceRecord::key));
        return out;
    }

    @Override
    public Optional<InetSocketAddress> resolve(MeshName name, int port) {
        String v = cache.get(VmServiceRecord.key(name.namespace(), name.service()));
        if (v == null) {
            return Optional.empty();
        }
        VmServiceRecord r = VmServiceRecord.decode(v);
        if (r.expired(clock.instant())) {
            return Optional.empty();
        }
        // Only while the export is still the VM's: Kubernetes may have exported the name since.
        ServiceKey key = new ServiceKey(registry.cluster(), r.namespace(), r.name());
        return VmServiceClaim.exportIsTheVms(exported(key), r) ? Optional.of(r.backend()) : Optional.empty();
    }

    /** This cluster's current export under {@code key}: its identities. */
    private Optional<List<io.isthmus.trust.spiffe.SpiffeId>> exported(ServiceKey key) {
        return registry.get(key).map(io.isthmus.registry.ExportedService::identities);
    }

    /** Removes the registration's export, unless another source (Kubernetes, configuration) exports the name now. */
    private boolean unexportIfTheVms(VmServiceRecord r) {
        ServiceKey key = new ServiceKey(registry.cluster(), r.namespace(), r.name());
        return VmServiceClaim.exportIsTheVms(exported(key), r) && registry.unexport(key);
    }

    /** Removes expired registrations and their exports; returns how many. */
    public int sweep() {
        int removed = 0;
        for (Map.Entry<String, String> e : new ArrayList<>(cache.entrySet())) {
            VmServiceRecord r = VmServiceRecord.decode(e.getValue());
            if (r.expired(clock.instant()) && cache.remove(e.getKey(), e.getValue())) {
                boolean unexported = unexportIfTheVms(r);
                LOG.infof("VM service %s of %s expired (no heartbeat since %s); %s", r.key(), r.owner(),
                        r.expiresAt().minus(config.lease()), unexported ? "export removed"
                                : "its export, now another source's, left alone");
                removed++;
            }
        }
        return removed;
    }

    private void sweepSafely() {
        if (!cache.getStatus().allowInvocations()) {
            return; // shutting down: the cache manager may stop before this bean
        }
        try {
            sweep();
        } catch (RuntimeException e) {
            if (stopping || !cache.getStatus().allowInvocations()
                    || !cache.getCacheManager().getStatus().allowInvocations()) {
                // The gateway is stopping and its cache manager went first: nothing is wrong, nothing to report.
                LOG.debugf("VM service sweep skipped: the cache is stopping (%s)", e.toString());
                return;
            }
            LOG.warnf("VM service sweep failed: %s; expired VM services are removed at the next sweep", e.toString());
        }
    }

    /** A sweep in progress has 2 s to finish before it is interrupted (what that cuts short is logged at DEBUG). */
    @PreDestroy
    void stop() {
        stopping = true;
        Workers.stop(sweeper, Duration.ofSeconds(2));
    }
}
