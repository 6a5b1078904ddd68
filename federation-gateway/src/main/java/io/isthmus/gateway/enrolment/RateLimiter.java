package io.isthmus.gateway.enrolment;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Token buckets per key (a source address): {@code burst} attempts at once, refilled at {@code perMinute}. Pure
 * apart from the injected clock; thread-safe. Buckets that are full again are forgotten, so the map stays small.
 */
public final class RateLimiter {
    private final int burst;
    private final double perNano;
    private final Clock clock;
    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

    private record Bucket(double tokens, long atNanos) {
    }

    /** The outcome of one attempt: allowed, or how long until the next one would be. */
    public record Decision(boolean allowed, Duration retryAfter) {
    }

    public RateLimiter(int burst, int perMinute, Clock clock) {
        if (burst < 1 || perMinute < 1) {
            throw new IllegalArgumentException("rate limit burst and per-minute must be at least 1, got " + burst + ", "
                    + perMinute);
        }
        this.burst = burst;
        this.perNano = perMinute / 60e9;
        this.clock = clock;
    }

    public Decision tryAcquire(String key) {
        long now = nanos();
        Decision[] out = new Decision[1];
        buckets.compute(key, (k, b) -> {
            double tokens = b == null ? burst : Math.min(burst, b.tokens() + (now - b.atNanos()) * perNano);
            if (tokens >= 1) {
                out[0] = new Decision(true, Duration.ZERO);
                return new Bucket(tokens - 1, now);
            }
            long wait = (long) Math.ceil((1 - tokens) / perNano);
            out[0] = new Decision(false, Duration.ofNanos(wait));
            return new Bucket(tokens, now);
        });
        if (buckets.size() > 10_000) {
            buckets.entrySet().removeIf(e -> e.getValue().tokens() + (now - e.getValue().atNanos()) * perNano >= burst);
        }
        return out[0];
    }

    private long nanos() {
        java.time.Instant i = clock.instant();
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }
}
