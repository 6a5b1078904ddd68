package io.isthmus.agent.workload;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The log lines of refused Workload API calls, throttled per (caller uid, reason). Any local user may connect to the
 * socket, so any local user could otherwise write one INFO line per call into the agent's log, as fast as it can
 * call. The first refusal of a (uid, reason) is logged at once; later ones are counted, and at most one line per
 * {@code interval} says how many were refused since the last line. Keys are capped ({@link #MAX_KEYS}): beyond the
 * cap, refusals of new uids share one key, so the table stays bounded even for a caller that can switch uids.
 * Every refusal is counted ({@link #total()}), logged or not. Thread-safe; no I/O but the {@code out} call.
 */
final class RefusalLog {
    static final int MAX_KEYS = 256;
    /** The uid of the shared key beyond {@link #MAX_KEYS}, and of a caller without peer credentials. */
    static final int OTHER_UIDS = -1;

    private record Key(int uid, String reason) {
    }

    /** One key's refusals: {@code since} counts those not yet in a line; {@code lastLine} is in nanos. */
    private static final class Window {
        long lastLine;
        long since;
        long all;
    }

    private final Map<Key, Window> windows = new ConcurrentHashMap<>();
    private final AtomicLong total = new AtomicLong();
    private final long intervalNanos;
    private final LongSupplier nanoTime;
    private final Consumer<String> out;

    RefusalLog(Duration interval, LongSupplier nanoTime, Consumer<String> out) {
        this.intervalNanos = interval.toNanos();
        this.nanoTime = nanoTime;
        this.out = out;
    }

    /**
     * @param uid    the caller's uid ({@link #OTHER_UIDS} when unknown)
     * @param reason a stable code: {@code no-matching-entry}, {@code unattested}
     * @param line   the line to log when this refusal is logged (what was refused, and why)
     */
    void refused(int uid, String reason, String line) {
        total.incrementAndGet();
        Key key = new Key(uid, reason);
        Window w = windows.get(key);
        if (w == null) {
            key = windows.size() < MAX_KEYS ? key : new Key(OTHER_UIDS, reason);
            w = windows.computeIfAbsent(key, k -> new Window());
        }
        String text;
        synchronized (w) {
            long now = nanoTime.getAsLong();
            w.all++;
            if (w.all > 1 && now - w.lastLine < intervalNanos) {
                w.since++;
                return;
            }
            text = w.since == 0 ? line + " (refusals of uid " + uid(key) + " for " + reason + " are logged at most once per "
                    + Duration.ofNanos(intervalNanos).toSeconds() + " s)"
                    : line + "; " + w.since + " more refused for uid " + uid(key) + " (" + reason + ") since the last line, "
                    + w.all + " in all";
            w.lastLine = now;
            w.since = 0;
        }
        out.accept(text);
    }

    private static String uid(Key key) {
        return key.uid() == OTHER_UIDS ? "unknown or beyond the first " + MAX_KEYS : Integer.toString(key.uid());
    }

    /** Every refusal counted since the start, logged or not. */
    long total() {
        return total.get();
    }
}
