package io.isthmus.trust.federation;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Systemwide time, except that a reading taken where {@code here} says (on a given thread, inside a given class) waits
 * until {@link #release} is counted down: a test holds one step of a race there while it makes the other happen.
 * {@link #reached} tells that the held step got there. Only the first such reading waits.
 */
final class HoldingClock extends Clock {
    final CountDownLatch reached = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    private final BooleanSupplier here;

    HoldingClock(BooleanSupplier here) {
        this.here = here;
    }

    /** Holds the first reading on the thread named {@code name}. */
    static HoldingClock onThread(String name) {
        return new HoldingClock(() -> Thread.currentThread().getName().equals(name));
    }

    @Override
    public ZoneId getZone() {
        return ZoneId.of("UTC");
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }

    @Override
    public Instant instant() {
        if (reached.getCount() > 0 && here.getAsBoolean()) {
            reached.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return Instant.now();
    }
}
