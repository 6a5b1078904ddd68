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
 * @param <T> an entry, serialized by the writer thread
 */
public final class LineQueue<T> implements AutoCloseable {
    /** How long the writer sleeps when it caught up: the most a line waits before it is written. */
    public static final Duration TICK = Duration.ofMillis(20);
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
            LockSupport.parkNanos(this, TICK.toNanos());
        }
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
