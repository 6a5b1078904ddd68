package io.isthmus.registry.xsite;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Lets a repeated warning through at most once per interval, from any thread: a peer that keeps sending what is
 * refused (thousands of retries a second) is named in the log, without flooding it.
 */
final class WarnEvery {
    private final long intervalNanos;
    private final AtomicLong last;

    WarnEvery(Duration interval) {
        this.intervalNanos = interval.toNanos();
        this.last = new AtomicLong(System.nanoTime() - intervalNanos);
    }

    /** Whether to log now: true for the first call, then once the interval has passed since the last true. */
    boolean due() {
        long now = System.nanoTime();
        long previous = last.get();
        return now - previous >= intervalNanos && last.compareAndSet(previous, now);
    }
}
