package io.isthmus.trust.concurrent;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Stopping a worker at shutdown without cutting a write in half. {@link ExecutorService#shutdownNow()} alone interrupts
 * the task that is running, which may be mid-way through a call to the Kubernetes API, a cache write or an answer on a
 * connection: the call then fails with an {@code InterruptedException} (or {@code InterruptedIOException}), logged
 * as a failure with its stack trace, on a clean stop. Here the worker takes no new task and has {@code grace} to finish
 * what it holds; only then is it interrupted.
 */
public final class Workers {
    private Workers() {
    }

    /**
     * Stops {@code worker}: it takes no new task, has {@code grace} to finish the running and queued ones (a scheduled
     * executor's periodic tasks end at the stop: the JDK's default), and is interrupted after that. Returns whether
     * the worker ended within the grace period. Keeps the caller's interrupt status.
     */
    public static boolean stop(ExecutorService worker, Duration grace) {
        worker.shutdown();
        boolean ended;
        try {
            ended = worker.awaitTermination(grace.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ended = false;
        }
        if (!ended) {
            worker.shutdownNow();
        }
        return ended;
    }

    /**
     * One daemon thread named {@code threadName} for delayed and periodic tasks, whose {@link #stop} waits only for
     * the task running, not for delayed ones to come due (a plain scheduled executor runs those after a shutdown).
     */
    public static ScheduledExecutorService scheduler(String threadName) {
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1,
                Thread.ofPlatform().daemon().name(threadName).factory());
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        return executor;
    }
}
