package io.isthmus.trust.endpoint;

import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.jboss.logging.Logger;

/**
 * Counts a listener's open connections (the bundle endpoint's, the data plane's) per client address and admits new
 * ones by {@link ConnectionAdmission}. A refusal is counted ({@link #refused()}) and logged at WARN at most once per
 * client address per {@link ConnectionLimits#warnInterval()}, with how many were refused since, so a flood cannot
 * flood the log. Thread-safe (one lock; held only to count).
 */
public final class ConnectionGate {
    private static final Logger LOG = Logger.getLogger(ConnectionGate.class);
    /** Beyond this many remembered warnings, those older than the interval are forgotten. */
    private static final int WARNED_BOUND = 4096;

    private final ConnectionLimits limits;
    private final Clock clock;
    private final String name;
    private final Map<String, Integer> open = new HashMap<>();
    private final Map<String, Warned> warned = new HashMap<>();
    private final AtomicLong refused = new AtomicLong();
    private int total;

    private record Warned(Instant at, long suppressed) {
    }

    /** @param name what the log lines call the listener (e.g. "SPIFFE bundle endpoint :8443", "east-west ingress") */
    public ConnectionGate(ConnectionLimits limits, Clock clock, String name) {
        this.limits = limits;
        this.clock = clock;
        this.name = name;
    }

    /** Counts a connection from {@code client} if admitted; the caller closes a refused one and never calls {@link #closed}. */
    public ConnectionAdmission.Verdict open(String client) {
        ConnectionAdmission.Verdict v;
        String warning = null;
        synchronized (this) {
            v = ConnectionAdmission.decide(client, open.getOrDefault(client, 0), total, limits);
            if (v instanceof ConnectionAdmission.Verdict.Admit) {
                open.merge(client, 1, Integer::sum);
                total++;
            } else {
                refused.incrementAndGet();
                warning = warning(client, (ConnectionAdmission.Verdict.Refused) v);
            }
        }
        if (warning != null) {
            LOG.warn(warning);
        }
        return v;
    }

    /** An admitted connection from {@code client} closed. */
    public synchronized void closed(String client) {
        open.computeIfPresent(client, (k, n) -> n == 1 ? null : n - 1);
        total--;
    }

    /** Connections refused since start. */
    public long refused() {
        return refused.get();
    }

    /** Connections open now from {@code client}. */
    public synchronized int openFrom(String client) {
        return open.getOrDefault(client, 0);
    }

    /** Client addresses whose last warning is remembered (at most {@value #WARNED_BOUND}). */
    synchronized int rememberedWarnings() {
        return warned.size();
    }

    /** Connections open now in all. */
    public synchronized int openTotal() {
        return total;
    }

    private String warning(String client, ConnectionAdmission.Verdict.Refused r) {
        Instant now = clock.instant();
        Warned last = warned.get(client);
        if (last != null && now.isBefore(last.at().plus(limits.warnInterval()))) {
            warned.put(client, new Warned(last.at(), last.suppressed() + 1));
            return null;
        }
        if (warned.size() >= WARNED_BOUND) {
            warned.values().removeIf(w -> !now.isBefore(w.at().plus(limits.warnInterval())));
            if (warned.size() >= WARNED_BOUND) {
                // Refused from more addresses within one interval than are remembered (a flood from many addresses,
                // e.g. an IPv6 prefix): neither grow the map nor warn per address; the refusal counter still counts.
                return null;
            }
        }
        warned.put(client, new Warned(now, 0));
        String since = last == null || last.suppressed() == 0 ? ""
                : " (" + last.suppressed() + " more refused since the last warning)";
        return name + " refused a connection: " + r.detail() + since;
    }
}
