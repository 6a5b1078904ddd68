package io.isthmus.integration.rotation;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Calls made continuously in the background, one after the other with a short pause, each judged by a check; every
 * failure is kept with the time it happened and what came back.
 */
final class Traffic implements AutoCloseable {
    /** One call's outcome: ok, or why not. */
    record Outcome(boolean ok, String detail) {
    }

    private final String name;
    private final AtomicLong calls = new AtomicLong();
    private final List<String> failures = new CopyOnWriteArrayList<>();
    private final Thread thread;
    private volatile boolean running = true;

    private Traffic(String name, Supplier<Outcome> call, long pauseMillis) {
        this.name = name;
        this.thread = Thread.ofPlatform().daemon().name("traffic-" + name).start(() -> {
            while (running) {
                Outcome o;
                try {
                    o = call.get();
                } catch (RuntimeException e) {
                    o = new Outcome(false, e.toString());
                }
                calls.incrementAndGet();
                if (!o.ok()) {
                    failures.add(java.time.Instant.now() + " " + o.detail());
                }
                try {
                    Thread.sleep(pauseMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    static Traffic start(String name, Supplier<Outcome> call, long pauseMillis) {
        return new Traffic(name, call, pauseMillis);
    }

    long calls() {
        return calls.get();
    }

    List<String> failures() {
        return List.copyOf(failures);
    }

    String name() {
        return name;
    }

    /** How many calls failed, when the first and the last did, and what the first got back; empty when none failed. */
    String summary() {
        List<String> f = failures();
        if (f.isEmpty()) {
            return "";
        }
        String first = f.get(0);
        String last = f.get(f.size() - 1);
        return f.size() + " of " + calls() + " calls " + name + " failed, from " + first.substring(0, first.indexOf(' '))
                + " to " + last.substring(0, last.indexOf(' ')) + "; the first: " + first;
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(30_000);
    }
}
