package io.isthmus.gateway.jwt.rotation;

import java.util.Optional;

import org.infinispan.Cache;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.notifications.Listener;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryCreated;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryModified;
import org.infinispan.notifications.cachelistener.event.CacheEntryEvent;

import io.isthmus.gateway.enrolment.EnrolmentCluster;

/**
 * The cluster's recorded JWT rotation step, in a cache replicated among this cluster's replicas only (the same cache
 * manager as the replica keys; never backed up across sites). One entry, the latest signed record: replicas that
 * start or rejoin get it by state transfer and catch up. A write is a compare-and-set, so two admin calls answered
 * by two replicas at once cannot both record the same generation. Thread-safe.
 */
@Listener(sync = false)
public final class RotationChannel implements AutoCloseable {
    static final String CACHE = "isthmus-jwt-rotation";
    private static final String KEY = "step";

    private final Cache<String, String> cache;
    private final Runnable onChange;

    /** @param onChange called (on an Infinispan thread; must not block) whenever the record changes */
    public RotationChannel(EmbeddedCacheManager manager, Runnable onChange) {
        this.cache = EnrolmentCluster.replicatedInMemory(manager, CACHE);
        this.onChange = onChange;
        cache.addListener(this);
    }

    /** The signed record as stored (not yet judged: see {@link RecordAdmission}). */
    public Optional<String> read() {
        return Optional.ofNullable(cache.get(KEY));
    }

    /** False once the cache manager stops (the gateway is stopping): nothing to apply any more. */
    public boolean open() {
        return cache.getStatus().allowInvocations();
    }

    /** Stores {@code next} if the entry is still {@code expected}; false when another write came first. */
    public boolean write(Optional<String> expected, String next) {
        return expected.isEmpty() ? cache.putIfAbsent(KEY, next) == null : cache.replace(KEY, expected.get(), next);
    }

    @CacheEntryCreated
    @CacheEntryModified
    public void changed(CacheEntryEvent<String, String> event) {
        if (!event.isPre()) {
            onChange.run();
        }
    }

    @Override
    public void close() {
        try {
            cache.removeListener(this);
        } catch (RuntimeException e) {
            // the cache manager is stopping already: nothing to unhook
        }
    }
}
