package io.isthmus.gateway.enrolment;

import java.time.Duration;
import java.util.Optional;

/**
 * The enrolment rate limit as one pure decision: a token bucket per key (a source address), {@code burst} attempts
 * at once, refilled at {@code perMinute}. Where the buckets live (replicated among a cluster's gateway replicas) is
 * {@link SharedRateLimiter}'s business; this class only says, given a bucket as last written and the time, whether
 * the attempt may go ahead and what the bucket becomes. No I/O, no clock of its own; thread-safe.
 */
public final class RateLimiter {
    private RateLimiter() {
    }

    /** The configured limit. */
    public record Limit(int burst, int perMinute) {
        public Limit {
            if (burst < 1 || perMinute < 1) {
                throw new IllegalArgumentException("isthmus.enrolment.rate-limit: burst and per-minute must be at least 1,"
                        + " got burst " + burst + ", per-minute " + perMinute);
            }
        }

        double perNano() {
            return perMinute / 60e9;
        }

        /** How long a bucket holding {@code tokens} takes to fill: after that it is as good as absent. */
        public Duration untilFull(double tokens) {
            return Duration.ofNanos((long) Math.ceil(Math.max(0, burst - tokens) / perNano()));
        }
    }

    /** A bucket as last written: {@code tokens} left at {@code atNanos} (epoch nanoseconds). */
    public record Bucket(double tokens, long atNanos) {
        public Bucket {
            if (!(tokens >= 0) || Double.isInfinite(tokens)) {
                throw new IllegalArgumentException("a rate bucket holds a finite, non-negative number of tokens, got "
                        + tokens);
            }
        }

        /** The stored form, {@code <tokens>@<epoch nanos>}. */
        public String encode() {
            return tokens + "@" + atNanos;
        }

        /** @throws IllegalArgumentException naming the text when it is not {@link #encode()}'s form */
        public static Bucket decode(String text) {
            int at = text.indexOf('@');
            try {
                if (at <= 0) {
                    throw new NumberFormatException("no '@'");
                }
                return new Bucket(Double.parseDouble(text.substring(0, at)), Long.parseLong(text.substring(at + 1)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("rate bucket '" + text + "' is not <tokens>@<epoch nanos> ("
                        + e.getMessage() + ")", e);
            }
        }
    }

    /**
     * The verdict on one attempt and the bucket to write back (written either way: a refused attempt still moves
     * the bucket's time, so the refill is never counted twice).
     */
    public record Decision(boolean allowed, Duration retryAfter, Bucket next) {
    }

    /**
     * @param stored the bucket as last written by any replica; empty: none (never used, or full again and expired)
     * @param nowNanos this replica's clock; a bucket written "later" by a replica whose clock runs ahead refills
     *     nothing until this clock catches up (never a negative refill, never a free token from skew)
     */
    public static Decision decide(Limit limit, Optional<Bucket> stored, long nowNanos) {
        double tokens;
        long at;
        if (stored.isEmpty()) {
            tokens = limit.burst();
            at = nowNanos;
        } else {
            Bucket b = stored.get();
            long elapsed = Math.max(0, nowNanos - b.atNanos());
            tokens = Math.min(limit.burst(), b.tokens() + elapsed * limit.perNano());
            at = Math.max(nowNanos, b.atNanos());
        }
        if (tokens >= 1) {
            return new Decision(true, Duration.ZERO, new Bucket(tokens - 1, at));
        }
        long wait = (long) Math.ceil((1 - tokens) / limit.perNano()) + (at - nowNanos);
        return new Decision(false, Duration.ofNanos(wait), new Bucket(tokens, at));
    }
}
