package io.isthmus.registry.xsite;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.infinispan.commands.VisitableCommand;
import org.infinispan.commons.CacheException;
import org.infinispan.container.entries.metadata.MetadataImmortalCacheEntry;
import org.infinispan.factories.ComponentRegistry;
import org.infinispan.factories.impl.BasicComponentRegistry;
import org.infinispan.metadata.Metadata;
import org.infinispan.metadata.impl.IracMetadata;
import org.infinispan.metadata.impl.PrivateMetadata;
import org.infinispan.commons.stat.TimerTracker;
import org.infinispan.xsite.BackupReceiver;
import org.infinispan.xsite.metrics.XSiteMetricsCollector;
import org.infinispan.xsite.statetransfer.XSiteState;
import org.jboss.logging.Logger;

/**
 * The registry cache's receiver of cross-site requests: it takes from each peer site that site's own keys, with that
 * site's own part of their cross-site version, and this site's own keys when they come back ({@link OwnerWrites}), in
 * updates and in state transfer alike; it drops the rest (as Infinispan drops an update its ordering discards, so the
 * sender does not retry it), and takes no clear and no synchronous backup command, which the registry never sends. A
 * genuine peer also sends a third site's keys, when this site joins (Infinispan's state transfer, over the same
 * updates, pushes every key it holds): those are dropped at DEBUG, since their owner sends them too; every other
 * refusal is counted ({@code RegistryNode.refusedCrossSiteWrites}) and logged at WARN at most once a minute.
 *
 * <p>The sending site is the one the bridge authenticated (a message claiming another site than its TLS connection
 * proved is dropped before, see {@link ChannelFactory}). Infinispan does not hand it to the receiver: it records it in
 * the cache's cross-site metrics right before it calls the receiver, on the same thread ({@code XSiteCacheRequest}),
 * so {@link Origins} notes it there. A call without one comes from this process ({@code InfinispanRegistry
 * .restartCache} puts back what it held, each entry with the version of its owner, on the thread that applies a
 * membership change, which never handles cross-site requests) and is passed on unchanged.
 */
final class OwnerOnlyReceiver implements BackupReceiver {
    private static final Logger LOG = Logger.getLogger(OwnerOnlyReceiver.class);
    /** The site whose cross-site request this thread is handling (see {@link Origins}). */
    private static final ThreadLocal<String> ORIGIN = new ThreadLocal<>();

    private final String cache;
    /** This site's name: its own keys come back to it in a peer's state transfer. */
    private final String localSite;
    private final BackupReceiver delegate;
    /** Updates refused from peers, kept by the node across restarts of the cache. */
    private final AtomicLong refused;
    private final WarnEvery warnings = new WarnEvery(java.time.Duration.ofMinutes(1));

    private OwnerOnlyReceiver(String cache, String localSite, BackupReceiver delegate, AtomicLong refused) {
        this.cache = cache;
        this.localSite = localSite;
        this.delegate = delegate;
        this.refused = refused;
    }

    /**
     * Puts the receiver (and the origin's note) in front of the started cache's own ones; each update it refuses is
     * counted in {@code refused}.
     */
    static void install(String cache, String localSite, ComponentRegistry registry, AtomicLong refused) {
        BackupReceiver current = registry.getComponent(BackupReceiver.class);
        XSiteMetricsCollector metrics = registry.getComponent(XSiteMetricsCollector.class);
        if (current instanceof OwnerOnlyReceiver) {
            return;
        }
        if (current == null || metrics == null) {
            // Never run unguarded: a node whose registry cache could not be guarded does not start.
            throw new IllegalStateException("cannot guard cache " + cache + " against other sites' writes: it has no "
                    + (current == null ? "cross-site receiver" : "cross-site metrics") + " to take the place of");
        }
        BasicComponentRegistry components = registry.getComponent(BasicComponentRegistry.class);
        components.replaceComponent(XSiteMetricsCollector.class.getName(), new Origins(metrics), false);
        components.replaceComponent(BackupReceiver.class.getName(),
                new OwnerOnlyReceiver(cache, localSite, current, refused), false);
        registry.cacheComponents();
    }

    private void warn(String origin, String reason) {
        long n = refused.incrementAndGet();
        if (warnings.due()) {
            LOG.warnf("registry: refused a cross-site write to cache %s from site %s (%d so far): %s. Each site writes "
                    + "only its own cluster's keys; check that site's gateway version and configuration, or whether "
                    + "its gateway (or another holder of an SVID of its trust domain that the bridge admitted) is "
                    + "compromised", cache, origin, n, reason);
        }
    }

    @Override
    public <O> CompletionStage<O> handleRemoteCommand(VisitableCommand command) {
        String origin = ORIGIN.get();
        warn(origin, "a synchronous backup command (" + command.getClass().getSimpleName() + "); the registry backs"
                + " up asynchronously");
        return CompletableFuture.failedFuture(new CacheException("cache " + cache + " takes only asynchronous"
                + " cross-site updates"));
    }

    @Override
    public CompletionStage<Void> putKeyValue(Object key, Object value, Metadata metadata, IracMetadata iracMetadata) {
        String origin = ORIGIN.get();
        if (origin == null) {
            return delegate.putKeyValue(key, value, metadata, iracMetadata);
        }
        return switch (OwnerWrites.judge(origin, localSite, key, iracMetadata)) {
            case OwnerWrites.Admit a -> delegate.putKeyValue(key, value, metadata, a.version());
            case OwnerWrites.Refuse r -> dropped(origin, r);
        };
    }

    @Override
    public CompletionStage<Void> removeKey(Object key, IracMetadata iracMetadata, boolean expiration) {
        String origin = ORIGIN.get();
        if (origin == null) {
            return delegate.removeKey(key, iracMetadata, expiration);
        }
        return switch (OwnerWrites.judge(origin, localSite, key, iracMetadata)) {
            case OwnerWrites.Admit a -> delegate.removeKey(key, a.version(), expiration);
            case OwnerWrites.Refuse r -> dropped(origin, r);
        };
    }

    private CompletionStage<Void> dropped(String origin, OwnerWrites.Refuse refusal) {
        if (refusal.reason() == OwnerWrites.Reason.ANOTHER_SITES_KEY) {
            // What a genuine peer sends too when this site joins (its state transfer): the owner sends that key itself.
            LOG.debugf("registry: dropped a cross-site write to cache %s from site %s: %s", cache, origin,
                    refusal.message());
        } else {
            warn(origin, refusal.message());
        }
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<Void> clearKeys() {
        String origin = ORIGIN.get();
        if (origin == null) {
            return delegate.clearKeys();
        }
        warn(origin, "a clear of the whole cache");
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<Boolean> touchEntry(Object key) {
        return delegate.touchEntry(key);
    }

    @Override
    public CompletionStage<Void> handleStateTransferState(List<XSiteState> chunk, long timeoutMs) {
        String origin = ORIGIN.get();
        if (origin == null) {
            return delegate.handleStateTransferState(chunk, timeoutMs);
        }
        List<XSiteState> admitted = new ArrayList<>(chunk.size());
        for (XSiteState state : chunk) {
            PrivateMetadata internal = state.internalMetadata();
            switch (OwnerWrites.judge(origin, localSite, state.key(),
                    internal == null ? null : internal.iracMetadata())) {
                case OwnerWrites.Admit a -> {
                    MetadataImmortalCacheEntry entry = new MetadataImmortalCacheEntry(state.key(), state.value(),
                            state.metadata());
                    entry.setInternalMetadata(PrivateMetadata.getBuilder(internal).iracMetadata(a.version()).build());
                    admitted.add(XSiteState.fromDataContainer(entry));
                }
                case OwnerWrites.Refuse r -> dropped(origin, r);
            }
        }
        return delegate.handleStateTransferState(admitted, timeoutMs);
    }

    @Override
    public CompletionStage<Void> handleStateTransferControl(String originSite, boolean startReceiving) {
        return delegate.handleStateTransferControl(originSite, startReceiving);
    }

    /** The cache's cross-site metrics, which also note on the calling thread the site a request came from. */
    private static final class Origins implements XSiteMetricsCollector {
        private final XSiteMetricsCollector metrics;

        Origins(XSiteMetricsCollector metrics) {
            this.metrics = metrics;
        }

        @Override
        public void recordRequestsReceived(String srcSite) {
            ORIGIN.set(srcSite);
            metrics.recordRequestsReceived(srcSite);
        }

        @Override
        public Collection<String> sites() {
            return metrics.sites();
        }

        @Override
        public void recordRequestSent(String dstSite, long duration, TimeUnit timeUnit) {
            metrics.recordRequestSent(dstSite, duration, timeUnit);
        }

        @Override
        public long getMinRequestSentDuration(String dstSite, long defaultValue, TimeUnit outTimeUnit) {
            return metrics.getMinRequestSentDuration(dstSite, defaultValue, outTimeUnit);
        }

        @Override
        public long getMinRequestSentDuration(long defaultValue, TimeUnit outTimeUnit) {
            return metrics.getMinRequestSentDuration(defaultValue, outTimeUnit);
        }

        @Override
        public long getMaxRequestSentDuration(String dstSite, long defaultValue, TimeUnit outTimeUnit) {
            return metrics.getMaxRequestSentDuration(dstSite, defaultValue, outTimeUnit);
        }

        @Override
        public long getMaxRequestSentDuration(long defaultValue, TimeUnit outTimeUnit) {
            return metrics.getMaxRequestSentDuration(defaultValue, outTimeUnit);
        }

        @Override
        public long getAvgRequestSentDuration(String dstSite, long defaultValue, TimeUnit outTimeUnit) {
            return metrics.getAvgRequestSentDuration(dstSite, defaultValue, outTimeUnit);
        }

        @Override
        public long getAvgRequestSentDuration(long defaultValue, TimeUnit outTimeUnit) {
            return metrics.getAvgRequestSentDuration(defaultValue, outTimeUnit);
        }

        @Override
        public long countRequestsSent(String dstSite) {
            return metrics.countRequestsSent(dstSite);
        }

        @Override
        public long countRequestsSent() {
            return metrics.countRequestsSent();
        }

        @Override
        public void resetRequestsSent() {
            metrics.resetRequestsSent();
        }

        @Override
        public void registerTimer(String dstSite, TimerTracker timer) {
            metrics.registerTimer(dstSite, timer);
        }

        @Override
        public void registerTimer(TimerTracker timer) {
            metrics.registerTimer(timer);
        }

        @Override
        public long countRequestsReceived(String srcSite) {
            return metrics.countRequestsReceived(srcSite);
        }

        @Override
        public long countRequestsReceived() {
            return metrics.countRequestsReceived();
        }

        @Override
        public void resetRequestReceived() {
            metrics.resetRequestReceived();
        }
    }
}
