package io.isthmus.registry.store;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
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
 *
 * <p>Each lane holds at most {@link #CAPACITY} records; a full lane makes the delivering thread wait, which gives back
 * IRAC's own back-pressure (it then sends only the newest value of each key) instead of queueing every update of an
 * overloaded site in memory.
 */
final class JudgingLanes implements AutoCloseable {
    static final int CAPACITY = 4_096;
    private final List<ThreadPoolExecutor> lanes = new ArrayList<>();

    JudgingLanes(String cluster, int count) {
        if (count < 1) {
            throw new IllegalArgumentException("need at least one lane, got " + count);
        }
        for (int i = 0; i < count; i++) {
            String name = "isthmus-registry-judge-" + cluster + "-" + i;
            ThreadPoolExecutor lane = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
                    new ArrayBlockingQueue<>(CAPACITY), r -> {
                        Thread t = new Thread(r, name);
                        t.setDaemon(true);
                        return t;
                    });
            lane.prestartAllCoreThreads();
            lanes.add(lane);
        }
    }

    /**
     * Runs {@code judgement} after every earlier one of {@code cacheKey}, waiting while its lane is full; dropped once
     * the lanes are closed.
     */
    void submit(String cacheKey, Runnable judgement) {
        enqueue(lanes.get(Math.floorMod(cacheKey.hashCode(), lanes.size())), judgement);
    }

    private static boolean enqueue(ThreadPoolExecutor lane, Runnable judgement) {
        try {
            // Straight into the queue (the lane's one thread is started): execute() would refuse when it is full.
            while (!lane.isShutdown()) {
                if (lane.getQueue().offer(judgement, 100, TimeUnit.MILLISECONDS)) {
                    return true;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false; // the registry is closing: nothing is used any more
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
        for (ThreadPoolExecutor lane : lanes) {
            CompletableFuture<Void> barrier = new CompletableFuture<>();
            if (!enqueue(lane, () -> barrier.complete(null))) {
                return false;
            }
            barriers.add(barrier);
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
        lanes.forEach(ThreadPoolExecutor::shutdownNow);
    }
}
