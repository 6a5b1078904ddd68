package io.isthmus.proxy.exchange;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

import io.netty.util.concurrent.EventExecutor;

/**
 * The idle timer of a stream the gateway opened upstream: {@code onIdle} runs when nothing moved either way (a frame
 * read or written, window given back) for {@code idleNanos}, and again every {@code idleNanos} while that lasts;
 * never in the middle of a read. What {@code IdleStateHandler(0, 0, timeout)} did, without a listener on every write:
 * activity only notes the time, and the one scheduled check looks again. Event loop only.
 */
final class IdleTimer implements Runnable {
    private final EventExecutor executor;
    private final long idleNanos;
    private final LongSupplier clock;
    private final Runnable onIdle;
    private ScheduledFuture<?> check;
    private boolean running;
    private boolean reading;
    private long lastActivity;

    IdleTimer(EventExecutor executor, long idleNanos, LongSupplier clock, Runnable onIdle) {
        this.executor = executor;
        this.idleNanos = idleNanos;
        this.clock = clock;
        this.onIdle = onIdle;
    }

    void start() {
        running = true;
        lastActivity = clock.getAsLong();
        check = executor.schedule(this, idleNanos, TimeUnit.NANOSECONDS);
    }

    void stop() {
        running = false;
        if (check != null) {
            check.cancel(false);
            check = null;
        }
    }

    /** Something was written (or window given back). */
    void activity() {
        lastActivity = clock.getAsLong();
    }

    /** A frame was read; the read counts as activity once it is complete. */
    void reading() {
        reading = true;
    }

    /** The read is complete. */
    void readComplete() {
        if (reading) {
            reading = false;
            activity();
        }
    }

    @Override
    public void run() {
        if (!running) {
            return;
        }
        long left = idleNanos - (clock.getAsLong() - lastActivity);
        if (reading || left > 0) {
            check = executor.schedule(this, reading ? idleNanos : left, TimeUnit.NANOSECONDS);
            return;
        }
        check = executor.schedule(this, idleNanos, TimeUnit.NANOSECONDS);
        onIdle.run();
    }
}
