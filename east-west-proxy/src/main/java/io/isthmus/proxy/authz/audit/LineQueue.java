package io.isthmus.proxy.authz.audit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The bounded queue between the event loops that record log entries (access log, decision log) and the one writer
 * thread that serializes and writes them. The writer wakes on a tick and drains what arrived; a producer never wakes
 * it. (It used to wait in {@code poll()}, so every request's {@code offer} woke it: the futex wake-up, the context
 * switch and the writer's sleep again cost about 17% of the gateway's CPU at 20k requests/s, more than writing the
 * lines. Lines now reach the sink at most one tick late.) A full queue refuses the entry, so that logging never
 * holds up traffic. Thread-safe.
 *
 * <p>The tick is short while lines arrive ({@link #ACTIVE_TICK}) and long once a wake-up found nothing
 * ({@link #IDLE_TICK}), see {@link #sleepAfter}. With one 20 ms tick the writer serialized a burst of about 120 lines
 * every 20 ms at 6,000 requests/s: on 2 CPUs those bursts took the CPU a request needed next often enough to put
 * Isthmus's p98-p99 on the wire at 280-410 us against HAProxy's 195-300 us (with the access log off: 205-290 us;
 * benchmarks/proxy/results-2026-12-07.txt, stop 42); with bursts a tenth as long, 201-324 us. The
 * wake-ups stay bounded (500 a second) whatever the request rate, and an idle gateway's writer wakes 50 times a
 * second, as before.
 *
 * @param <T> an entry, serialized by the writer thread
 */
public final class LineQueue<T> implements AutoCloseable {
    /** How long the writer sleeps after a wake-up that found lines: the most a line waits while lines flow. */
    public static final Duration ACTIVE_TICK = Duration.ofMillis(2);
    /** How long the writer sleeps after a wake-up that found none: the most the first line after a pause waits. */
    public static final Duration IDLE_TICK = Duration.ofMillis(20);
    private static final int BATCH = 512;

    /** What the writer thread does with each batch, in order; it handles its own failures. */
    @FunctionalInterface
    public interface Writer<T> {
        /**
         * @param batch    up to 512 entries, oldest first
         * @param caughtUp nothing else was queued when the batch was taken (a moment to flush the sink)
         */
        void write(List<T> batch, boolean caughtUp);
    }

    private final ArrayBlockingQueue<T> queue;
    private final Writer<T> writer;
    private final Thread thread;
    private volatile boolean closed;

    public LineQueue(String threadName, int capacity, Writer<T> writer) {
        if (capacity < 1) {
            throw new IllegalArgumentException(threadName + ": queue capacity must be at least 1, got " + capacity);
        }
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.writer = writer;
        this.thread = new Thread(this::run, threadName);
        this.thread.setDaemon(true);
        this.thread.start();
    }

    /** Queues {@code entry}; false when the queue is full or closed (the caller counts the drop). */
    public boolean offer(T entry) {
        return !closed && queue.offer(entry);
    }

    private void run() {
        List<T> batch = new ArrayList<>(BATCH);
        while (true) {
            boolean stopping = closed;
            queue.drainTo(batch, BATCH);
            int n = batch.size();
            if (n > 0) {
                try {
                    writer.write(batch, n < BATCH);
                } finally {
                    batch.clear();
                }
            }
            if (n == BATCH) {
                continue;
            }
            if (stopping) {
                return;
            }
            LockSupport.parkNanos(this, sleepAfter(n).toNanos());
        }
    }

    /** How long the writer sleeps after a wake-up that drained {@code drained} entries (fewer than a full batch). */
    static Duration sleepAfter(int drained) {
        if (drained < 0 || drained >= BATCH) {
            throw new IllegalArgumentException("a writer sleeps only after draining 0-" + (BATCH - 1) + " entries, got "
                    + drained);
        }
        return drained == 0 ? IDLE_TICK : ACTIVE_TICK;
    }

    /** Refuses new entries, lets the writer write what is queued (for up to 10 s), then returns. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        LockSupport.unpark(thread);
        try {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
