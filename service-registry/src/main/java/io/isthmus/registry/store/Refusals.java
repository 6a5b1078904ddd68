package io.isthmus.registry.store;

import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.jboss.logging.Logger;

import io.isthmus.registry.signing.EntryRefusal;

/**
 * Counts refused registry records by reason and logs them: one WARN per site, key and reason (so a forger flooding one
 * key writes one line, and a second forged key or a second forging site is still seen), then every 100th refusal.
 * Thread-safe.
 */
final class Refusals {
    private static final Logger LOG = Logger.getLogger(InfinispanRegistry.class);
    private static final int MAX_REMEMBERED = 10_000;

    private final Map<EntryRefusal, AtomicLong> counts = new EnumMap<>(EntryRefusal.class);
    private final AtomicLong total = new AtomicLong();
    private final Set<String> logged = ConcurrentHashMap.newKeySet();

    Refusals() {
        for (EntryRefusal r : EntryRefusal.values()) {
            counts.put(r, new AtomicLong());
        }
    }

    void refused(String site, String cacheKey, EntryRefusal reason, String message, String consequence) {
        counts.get(reason).incrementAndGet();
        long n = total.incrementAndGet();
        boolean first = logged.size() < MAX_REMEMBERED && logged.add(site + "|" + cacheKey + "|" + reason);
        if (first || n % 100 == 0) {
            LOG.warnf("registry: refused %s from site %s (%s): %s; %s (%d refused so far)", cacheKey, site,
                    reason.label(), message, consequence, n);
        }
    }

    long total() {
        return total.get();
    }

    long count(EntryRefusal reason) {
        return counts.get(reason).get();
    }
}
