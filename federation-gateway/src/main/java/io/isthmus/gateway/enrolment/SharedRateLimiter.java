package io.isthmus.gateway.enrolment;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.infinispan.Cache;

/**
 * The enrolment rate limit shared by the gateway replicas of one cluster: the buckets of {@link RateLimiter} live in
 * a replicated (REPL_SYNC) cache on the cluster's own JGroups channel, defined without cross-site backups, so the
 * replicas of one cluster draw from one bucket per source while every other cluster keeps its own limit. Each
 * attempt is a compare-and-set on the key's primary owner (as {@link InfinispanJoinTokenStore#consume} does), so
 * two replicas racing on a source's last token cannot both spend it. An entry expires once its bucket would be full
 * again, which is the same as no entry: the cache holds only sources that are being limited.
 *
 * <p>When the cache cannot answer (the replica is stopping, a replica is suspected and the synchronous write times
 * out, an entry is unreadable) the verdict is {@link Unavailable} and the attempt is refused with 503: fail closed.
 * A per-replica fallback (limit / replicas) would keep enrolment going only in theory: the join tokens live in a
 * cache of the same manager on the same channel, so a token could not be consumed at that moment either; and
 * falling back would let an attacker who can disturb the channel multiply the limit by the number of replicas it
 * guesses. Thread-safe.
 */
public final class SharedRateLimiter {
    static final String CACHE = "isthmus-enrolment-rate";
    private static final int MAX_ATTEMPTS = 32;

    private final Cache<String, String> cache;
    private final RateLimiter.Limit limit;
    private final Clock clock;

    public SharedRateLimiter(Cache<String, String> cache, RateLimiter.Limit limit, Clock clock) {
        this.cache = cache;
        this.limit = limit;
        this.clock = clock;
    }

    /** The outcome of one attempt. */
    public sealed interface Verdict {
    }

    public record Allowed() implements Verdict {
    }

    /** Over the limit: the next attempt from this source would be allowed in {@code retryAfter}. */
    public record Limited(Duration retryAfter) implements Verdict {
    }

    /** The shared buckets could not be read or written; {@code detail} says why. Refuse (fail closed). */
    public record Unavailable(String detail) implements Verdict {
    }

    public Verdict tryAcquire(String key) {
        try {
            for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
                String current = cache.get(key);
                Optional<RateLimiter.Bucket> stored = Optional.ofNullable(current).map(RateLimiter.Bucket::decode);
                RateLimiter.Decision d = RateLimiter.decide(limit, stored, nanos(clock.instant()));
                String next = d.next().encode();
                // Kept until the bucket is full again (plus a second for clock skew between replicas).
                long lifespan = limit.untilFull(d.next().tokens()).plusSeconds(1).toMillis();
                boolean written = current == null
                        ? cache.putIfAbsent(key, next, lifespan, TimeUnit.MILLISECONDS) == null
                        : cache.replace(key, current, next, lifespan, TimeUnit.MILLISECONDS);
                if (written) {
                    return d.allowed() ? new Allowed() : new Limited(d.retryAfter());
                }
                // Another replica or thread moved this source's bucket between our read and write: decide again.
            }
            return new Unavailable("the rate bucket of " + key + " stayed contended for " + MAX_ATTEMPTS + " attempts");
        } catch (IllegalArgumentException e) {
            return new Unavailable("cache " + CACHE + " holds an unreadable entry for " + key + ": " + e.getMessage());
        } catch (RuntimeException e) {
            // CacheException, TimeoutException, IllegalLifecycleStateException: the cluster state is not reachable.
            return new Unavailable("cache " + CACHE + " on " + cache.getCacheManager().getAddress() + " did not answer ("
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
        }
    }

    private static long nanos(Instant i) {
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }
}
