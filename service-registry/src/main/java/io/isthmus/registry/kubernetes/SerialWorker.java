package io.isthmus.registry.kubernetes;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;

import org.jboss.logging.Logger;

import io.isthmus.trust.concurrent.Workers;

/**
 * The one thread on which a Kubernetes writer (the export source, the ServiceImport writer) does its API calls, in the
 * order they were asked. A task's failure is logged at WARN with what retries it; at stop, the task in progress has
 * {@link #STOP_GRACE} to finish, and whatever the stop still cuts short (the interrupt after the grace, the client
 * closed under it) is logged at DEBUG: the next leader, or the next start, does it again. Thread-safe.
 */
final class SerialWorker implements AutoCloseable {
    /** How long a call in progress at stop may take to finish (an API call's own timeout is longer). */
    static final Duration STOP_GRACE = Duration.ofSeconds(2);

    private final Logger log;
    private final ExecutorService worker;
    private volatile boolean closing;

    SerialWorker(String threadName, Logger log) {
        this.log = log;
        this.worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Runs {@code task} after those already asked. {@code what} names it in the log ("writing ServiceImport shop/cart");
     * {@code retry} says when it is done again if it fails.
     */
    void submit(String what, String retry, Runnable task) {
        try {
            worker.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    if (closing) {
                        log.debugf(e, "%s stopped: the gateway is stopping", what);
                    } else {
                        log.warnf(e, "%s failed; %s", what, retry);
                    }
                }
            });
        } catch (RejectedExecutionException stopping) {
            log.debugf("%s not started: the gateway is stopping", what);
        }
    }

    @Override
    public void close() {
        closing = true;
        Workers.stop(worker, STOP_GRACE);
    }
}
