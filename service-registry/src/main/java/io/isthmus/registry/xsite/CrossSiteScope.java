package io.isthmus.registry.xsite;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;

import org.infinispan.commands.VisitableCommand;
import org.infinispan.commons.CacheException;
import org.infinispan.configuration.cache.Configuration;
import org.infinispan.factories.ComponentRegistry;
import org.infinispan.factories.GlobalComponentRegistry;
import org.infinispan.factories.impl.BasicComponentRegistry;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.metadata.Metadata;
import org.infinispan.metadata.impl.IracMetadata;
import org.infinispan.notifications.Listener;
import org.infinispan.notifications.cachemanagerlistener.annotation.CacheStarted;
import org.infinispan.notifications.cachemanagerlistener.event.CacheStartedEvent;
import org.infinispan.registry.InternalCacheRegistry;
import org.infinispan.xsite.BackupReceiver;
import org.infinispan.xsite.statetransfer.XSiteState;
import org.jboss.logging.Logger;

/**
 * Peer sites reach only the caches this site backs up to them. Infinispan hands a cross-site request (a backup
 * write, a removal, a state push, a clear) to whichever clustered local cache has the name the sender gives, whether
 * or not that cache has backup sites. Other features keep caches on the registry's cache manager that are replicated
 * among this cluster's replicas only, and not every entry in them is signed (the replicas' public JWT keys, which the
 * bundle publishes; join tokens; VM identities): any peer the bridge admits could have written them
 * (CrossSiteCacheScopeTest). Every cache without backup sites gets a receiver that refuses all of that, before any
 * peer can reach it: the bridge forms only once the node's caches run, and this listener replaces the receiver on
 * the thread that starts a cache. The registry cache, which does back up to other sites, gets one that takes from
 * each peer only that peer's own keys ({@link OwnerOnlyReceiver}).
 */
@Listener(sync = true)
final class CrossSiteScope {
    private static final Logger LOG = Logger.getLogger(CrossSiteScope.class);

    private final String localSite;
    private final AtomicLong refusedRegistryWrites;

    private CrossSiteScope(String localSite, AtomicLong refusedRegistryWrites) {
        this.localSite = localSite;
        this.refusedRegistryWrites = refusedRegistryWrites;
    }

    /**
     * Guards every cache {@code manager} starts from now on (call it before the manager starts, so that its internal
     * caches are guarded too), and any that already runs. {@code localSite} is this site's name; the registry cache's
     * refused updates are counted in {@code refusedRegistryWrites}.
     */
    static void install(EmbeddedCacheManager manager, String localSite, AtomicLong refusedRegistryWrites) {
        CrossSiteScope scope = new CrossSiteScope(localSite, refusedRegistryWrites);
        manager.addListener(scope);
        GlobalComponentRegistry global = GlobalComponentRegistry.of(manager);
        if (global.getStatus().allowInvocations()) {
            Set<String> names = new HashSet<>(manager.getCacheNames());
            names.addAll(global.getComponent(InternalCacheRegistry.class).getInternalCacheNames());
            for (String name : names) {
                if (manager.isRunning(name)) {
                    scope.guard(manager, name);
                }
            }
        }
    }

    /** Whether a cache with this configuration may receive cross-site requests: only if it backs up to other sites. */
    static boolean acceptsOtherSites(Configuration config) {
        return config.sites().hasBackups();
    }

    @CacheStarted
    public void started(CacheStartedEvent event) {
        guard(event.getCacheManager(), event.getCacheName());
    }

    private void guard(EmbeddedCacheManager manager, String name) {
        ComponentRegistry registry = GlobalComponentRegistry.of(manager).getNamedComponentRegistry(name);
        if (registry == null) {
            return;
        }
        if (acceptsOtherSites(registry.getConfiguration())) {
            if (RegistryNode.REGISTRY_CACHE.equals(name)) {
                OwnerOnlyReceiver.install(name, localSite, registry, refusedRegistryWrites);
            }
            return;
        }
        registry.getComponent(BasicComponentRegistry.class).replaceComponent(BackupReceiver.class.getName(),
                new Refusing(name), false);
        registry.cacheComponents();
    }

    /** Refuses every request from another site, and says so at WARN at most once a minute per cache. */
    private static final class Refusing implements BackupReceiver {
        private final String cache;
        private final AtomicLong refused = new AtomicLong();
        private final WarnEvery warnings = new WarnEvery(java.time.Duration.ofMinutes(1));

        Refusing(String cache) {
            this.cache = cache;
        }

        private <T> CompletionStage<T> refuse(String what) {
            long n = refused.incrementAndGet();
            String message = "cache " + cache + " is replicated among this cluster's replicas only and takes no "
                    + what + " from another site";
            if (warnings.due()) {
                LOG.warnf("registry: refused a cross-site %s for cache %s (%d so far): only caches backed up to other "
                        + "sites take their writes. A peer site sent it (its gateway, or another holder of an SVID of "
                        + "its trust domain that the bridge admitted): check that site's version and configuration, "
                        + "or whether it is compromised", what, cache, n);
            }
            return CompletableFuture.failedFuture(new CacheException(message));
        }

        @Override
        public <O> CompletionStage<O> handleRemoteCommand(VisitableCommand command) {
            return refuse("command");
        }

        @Override
        public CompletionStage<Void> putKeyValue(Object key, Object value, Metadata metadata,
                IracMetadata iracMetadata) {
            return refuse("write");
        }

        @Override
        public CompletionStage<Void> removeKey(Object key, IracMetadata iracMetadata, boolean expiration) {
            return refuse("removal");
        }

        @Override
        public CompletionStage<Void> clearKeys() {
            return refuse("clear");
        }

        @Override
        public CompletionStage<Boolean> touchEntry(Object key) {
            return refuse("touch");
        }

        @Override
        public CompletionStage<Void> handleStateTransferState(List<XSiteState> chunk, long segment) {
            return refuse("state transfer");
        }

        @Override
        public CompletionStage<Void> handleStateTransferControl(String origin, boolean start) {
            return refuse("state transfer");
        }
    }
}
