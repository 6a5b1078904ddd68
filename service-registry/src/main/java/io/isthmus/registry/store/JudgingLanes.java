package io.isthmus.registry.store;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Where a registry judges the records other sites wrote: a few single-thread lanes, a key always on the same lane, so
 * the records of one key are judged in the order they arrived and records of different keys in parallel.
 *
 * <p>Why not on the thread that delivers them: Infinispan's cross-site replication (IRAC) sends a site's updates in
 * batches, one batch at a time, and sends the next only when every backup site has applied the previous one; a
 * cache listener runs inside that apply. Judging there (an ECDSA verification and two JSON parses per record, and the
 * lease extension of a whole cluster per site heartbeat) put every record's verification at every site on the
 * sender's critical path: a pause at one site (a GC, a heartbeat's burst) grew the next batch, whose serial
 * verification took longer still. Measured in {@code benchmarks/registry/results-2026-12-05.txt}.
 */
final class JudgingLanes implements AutoCloseable {
    private final List<ExecutorService> lanes = new ArrayList<>();

    JudgingLanes(String cluster, int count) {
        if (count < 1) {
            throw new IllegalArgumentException("need at least one lane, got " + count);
        }
        for (int i = 0; i < count; i++) {
            String name = "isthmus-registry-judge-" + cluster + "-" + i;
            lanes.add(Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                return t;
            }));
        }
    }

    /** Runs {@code judgement} after every earlier one of {@code cacheKey}; dropped once the lanes are closed. */
    void submit(String cacheKey, Runnable judgement) {
        try {
            lanes.get(Math.floorMod(cacheKey.hashCode(), lanes.size())).execute(judgement);
        } catch (RejectedExecutionException closed) {
            // the registry is closing: nothing is used any more
        }
    }

    /**
     * Waits until every judgement submitted before this call has run (at most {@code timeoutMillis}), so that a purge
     * sees what arrived before it. Returns whether they all ran.
     */
    boolean drain(long timeoutMillis) {
        if (Thread.currentThread().getName().startsWith("isthmus-registry-judge-")) {
            return false; // called from a lane: waiting for it would never end
        }
        List<CompletableFuture<Void>> barriers = new ArrayList<>();
        for (ExecutorService lane : lanes) {
            try {
                barriers.add(CompletableFuture.runAsync(() -> { }, lane));
            } catch (RejectedExecutionException closed) {
                return false;
            }
        }
        try {
            CompletableFuture.allOf(barriers.toArray(CompletableFuture[]::new)).get(timeoutMillis, TimeUnit.MILLISECONDS);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            return false;
        }
    }

    @Override
    public void close() {
        lanes.forEach(ExecutorService::shutdownNow);
    }
}
