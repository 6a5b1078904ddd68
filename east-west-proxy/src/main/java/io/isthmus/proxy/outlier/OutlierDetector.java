package io.isthmus.proxy.outlier;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.LongSupplier;

/**
 * Passive outlier detection for peer clusters, as Envoy's consecutive-connect-failure ejection: a cluster whose
 * ingress fails {@link OutlierPolicy#consecutiveFailures()} connects in a row is ejected (callers skip it) for a
 * backoff, so that a dead cluster costs the first few requests a failed connect, not every request until its
 * registry lease lapses. When the backoff ends the cluster is on probation: the next connect decides, a failure
 * ejects it again at once for twice as long, a success clears its record.
 *
 * <p>A clock-driven state machine: time comes from the injected nano clock, nothing is scheduled. Thread-safe (every
 * egress event loop shares one); a cluster that never failed costs one map lookup per request, and while no cluster
 * has a record ({@link #tracksAny}) callers need not even build the key.
 */
public final class OutlierDetector {
    private final OutlierPolicy policy;
    private final LongSupplier nanoClock;
    private final ConcurrentMap<String, Record> records = new ConcurrentHashMap<>();

    /** What happened when a failure ejected a cluster. */
    public record Ejection(String key, Duration duration, int consecutiveFailures, int nth) {
    }

    private static final class Record {
        int failures;
        int ejections;
        long ejectedUntil;
        boolean ejected;
    }

    public OutlierDetector(OutlierPolicy policy, LongSupplier nanoClock) {
        this.policy = policy;
        this.nanoClock = nanoClock;
    }

    public OutlierDetector(OutlierPolicy policy) {
        this(policy, System::nanoTime);
    }

    public OutlierPolicy policy() {
        return policy;
    }

    /**
     * Whether any cluster has a record now (failures, an ejection, probation). While none has, {@link #ejected} is
     * false and {@link #connectSucceeded} does nothing for every key, so a caller may skip both and the key.
     */
    public boolean tracksAny() {
        return !records.isEmpty();
    }

    /** Whether {@code key} is ejected now (a finished ejection leaves it on probation, not ejected). */
    public boolean ejected(String key) {
        Record r = records.get(key);
        if (r == null) {
            return false;
        }
        synchronized (r) {
            return r.ejected && nanoClock.getAsLong() - r.ejectedUntil < 0;
        }
    }

    /** A connect to {@code key} failed; returns the ejection it caused, if any. */
    public Optional<Ejection> connectFailed(String key) {
        Record r = records.computeIfAbsent(key, k -> new Record());
        synchronized (r) {
            long now = nanoClock.getAsLong();
            if (r.ejected && now - r.ejectedUntil < 0) {
                return Optional.empty();
            }
            r.failures++;
            boolean onProbation = r.ejections > 0;
            if (!onProbation && r.failures < policy.consecutiveFailures()) {
                return Optional.empty();
            }
            r.ejections++;
            Duration d = policy.ejection(r.ejections);
            r.ejected = true;
            r.ejectedUntil = now + d.toNanos();
            int failures = r.failures;
            r.failures = 0;
            return Optional.of(new Ejection(key, d, failures, r.ejections));
        }
    }

    /** A connect to {@code key} succeeded: its failures and ejections are forgotten. */
    public void connectSucceeded(String key) {
        if (records.get(key) != null) {
            records.remove(key);
        }
    }
}
