package io.isthmus.registry.store;

import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.jboss.logging.Logger;

import io.isthmus.registry.signing.EntryRefusal;
import io.isthmus.trust.text.Printable;

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
    private final java.util.concurrent.ConcurrentLinkedDeque<RefusedRecord> recent = new java.util.concurrent.ConcurrentLinkedDeque<>();
    private final AtomicLong recentSize = new AtomicLong();
    private static final int MAX_RECENT = 1_000;

    Refusals() {
        for (EntryRefusal r : EntryRefusal.values()) {
            counts.put(r, new AtomicLong());
        }
    }

    void refused(String site, String cacheKey, java.util.Optional<io.isthmus.registry.EntryVersion> version,
            EntryRefusal reason, String message, String consequence) {
        counts.get(reason).incrementAndGet();
        recent.addLast(new RefusedRecord(site, cacheKey, version, reason));
        if (recentSize.incrementAndGet() > MAX_RECENT && recent.pollFirst() != null) {
            recentSize.decrementAndGet();
        }
        long n = total.incrementAndGet();
        boolean first = logged.size() < MAX_REMEMBERED && logged.add(site + "|" + cacheKey + "|" + reason);
        if (first || n % 100 == 0) {
            // The key, the writer's site name and the message quote what the writer sent: escaped, one line each.
            LOG.warnf("registry: refused %s from site %s (%s): %s; %s (%d refused so far)", Printable.escape(cacheKey),
                    Printable.escape(site), reason.label(), Printable.escape(message), consequence, n);
        }
    }

    /** The latest refusals, oldest first (at most 1,000). */
    java.util.List<RefusedRecord> recent() {
        return java.util.List.copyOf(recent);
    }

    long total() {
        return total.get();
    }

    long count(EntryRefusal reason) {
        return counts.get(reason).get();
    }
}
