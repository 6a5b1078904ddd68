package io.isthmus.registry.xsite;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.infinispan.Cache;
import org.infinispan.factories.ComponentRegistry;
import org.infinispan.notifications.Listener;
import org.infinispan.notifications.cachemanagerlistener.annotation.SiteViewChanged;
import org.infinispan.notifications.cachemanagerlistener.event.SitesViewChangedEvent;
import org.infinispan.util.ExponentialBackOff;
import org.infinispan.xsite.irac.DefaultIracManager;
import org.infinispan.xsite.irac.IracManager;
import org.infinispan.xsite.irac.IracXSiteBackup;

/**
 * How often asynchronous cross-site replication (IRAC) retries a backup site it could not reach, fitted to a
 * federation whose sites come and go. Infinispan 16.0.9 backs off per site exponentially from 0.5 s up to five
 * minutes and only resets on a success, and while backing off it sends that site nothing; a site that was
 * unreachable for a while (a member starting, a new member not yet bridged, a partition) therefore got no updates for
 * up to minutes after it was back, and the leases of what it held lapsed (seen in FederationMembershipE2ETest: a
 * peer's exports went stale 15 s after the bridge formed). Here the back-off is capped at
 * {@link #MAX_BACKOFF_MILLIS}, and a site that joins the bridge's view is retried at once.
 *
 * <p>Uses {@link DefaultIracManager#setBackOff}, Infinispan's own hook for this (public, used by its tests); a
 * cache whose IRAC manager is another implementation keeps Infinispan's default. Install on every start of a cache
 * that backs up to other sites, and register {@link #sitesUp()} on the cache manager once.
 */
final class IracPacing {
    static final long INITIAL_BACKOFF_MILLIS = 500;
    static final long MAX_BACKOFF_MILLIS = 5_000;

    private final ScheduledExecutorService delayer;
    /** The backup sites of the running cache, by site name (replaced when the cache restarts). */
    private final Map<String, IracXSiteBackup> backups = new ConcurrentHashMap<>();
    private final SitesUp sitesUp = new SitesUp();

    IracPacing(ScheduledExecutorService delayer) {
        this.delayer = delayer;
    }

    void install(Cache<?, ?> cache) {
        IracManager manager = ComponentRegistry.componentOf(cache, IracManager.class);
        if (manager instanceof DefaultIracManager irac) {
            backups.clear();
            irac.setBackOff(backup -> {
                backups.put(backup.getSiteName(), backup);
                return new Capped();
            });
        }
    }

    Object sitesUp() {
        return sitesUp;
    }

    /** Ends the back-off towards each site that joined the bridge's view: it is reachable again, retry now. */
    @Listener(sync = false)
    public final class SitesUp {
        @SiteViewChanged
        public void changed(SitesViewChangedEvent event) {
            for (String site : event.getJoiners()) {
                IracXSiteBackup backup = backups.get(site);
                if (backup != null) {
                    backup.run();
                }
            }
        }
    }

    /** Exponential with jitter (±50%), doubling from {@link #INITIAL_BACKOFF_MILLIS} to at most {@link #MAX_BACKOFF_MILLIS}. */
    private final class Capped implements ExponentialBackOff {
        private long current = INITIAL_BACKOFF_MILLIS;

        @Override
        public synchronized void reset() {
            current = INITIAL_BACKOFF_MILLIS;
        }

        @Override
        public CompletionStage<Void> asyncBackOff() {
            long wait;
            synchronized (this) {
                wait = current / 2 + ThreadLocalRandom.current().nextLong(current + 1);
                current = Math.min(current * 2, MAX_BACKOFF_MILLIS);
            }
            CompletableFuture<Void> done = new CompletableFuture<>();
            delayer.schedule(() -> done.complete(null), Math.min(wait, MAX_BACKOFF_MILLIS), TimeUnit.MILLISECONDS);
            return done;
        }
    }
}
