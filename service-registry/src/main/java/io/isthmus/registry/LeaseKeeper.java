package io.isthmus.registry;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.jboss.logging.Logger;

/**
 * Keeps this cluster's leases: every {@code interval} it renews the heartbeat of all own exports and counts the
 * entries (of any cluster) whose lease lapsed. A lapsed entry is not removed: it stays visible as stale and is not
 * routed to until its owner heartbeats or unexports it. {@link #tick()} does one round and may be called directly
 * (tests drive it with a controlled {@link Clock}).
 */
public final class LeaseKeeper implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(LeaseKeeper.class);

    private final Registry registry;
    private final Clock clock;
    private final AtomicInteger stale = new AtomicInteger();
    private final AtomicReference<Instant> lastHeartbeat = new AtomicReference<>();
    private ScheduledExecutorService scheduler;
    private volatile boolean closed;

    public LeaseKeeper(Registry registry, Clock clock) {
        this.registry = registry;
        this.clock = clock;
    }

    public synchronized void start(Duration interval) {
        if (scheduler != null) {
            return;
        }
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "isthmus-registry-lease");
            t.setDaemon(true);
            return t;
        });
        scheduler.scheduleWithFixedDelay(this::safeTick, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void safeTick() {
        try {
            tick();
        } catch (org.infinispan.commons.IllegalLifecycleStateException e) {
            // The registry's cache is stopping (a normal stop can get there before this keeper is closed).
            LOG.debugf("registry heartbeat skipped: the registry of cluster %s is stopping (%s)", registry.cluster(),
                    e.getMessage());
        } catch (RuntimeException e) {
            if (closed) {
                return;
            }
            LOG.warnf("registry heartbeat failed; leases of cluster %s will lapse if this persists: %s (the gateway's "
                    + "registry health check shows the cache's state)", registry.cluster(), e.toString());
            LOG.debug("registry heartbeat failure", e);
        }
    }

    /**
     * Runs a round now, on the keeper's own thread (so never concurrently with a scheduled one), without moving the
     * schedule. Used when this gateway's signing CA changed: its entries are then signed again under the new CA at
     * once rather than up to an interval later. Does nothing before {@link #start} or after {@link #close}.
     */
    public synchronized void tickSoon() {
        if (scheduler != null && !closed) {
            scheduler.execute(this::safeTick);
        }
    }

    /** One round: renew own leases, count stale entries. */
    public void tick() {
        registry.heartbeat();
        lastHeartbeat.set(clock.instant());
        Instant now = clock.instant();
        stale.set((int) registry.list(RegistryQuery.ALL).stream().filter(e -> e.stale(now)).count());
    }

    /** Entries whose lease had lapsed at the last round. */
    public int staleEntries() {
        return stale.get();
    }

    public Instant lastHeartbeat() {
        return lastHeartbeat.get();
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (scheduler != null) {
            scheduler.shutdownNow();
            scheduler = null;
        }
    }
}
