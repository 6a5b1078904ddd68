package io.isthmus.proxy.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import io.netty.channel.embedded.EmbeddedChannel;

/**
 * The idle timer of a stream the gateway opened upstream ({@link H2Stream}): idle only after nothing moved either way
 * for the request timeout, and again every timeout while that lasts; stopped with the stream. (It was StreamCodec's
 * client-side timer, tested the same way, when such a stream was a child channel.)
 */
class IdleTimerTest {

    /** A timer with a 600 ms timeout on a frozen clock, which {@link #advance} moves for it and its loop. */
    private static final class IdleRig {
        final AtomicLong now = new AtomicLong();
        final List<String> events = new ArrayList<>();
        final EmbeddedChannel ch = new EmbeddedChannel();
        final IdleTimer timer;

        IdleRig() {
            ch.freezeTime();
            timer = new IdleTimer(ch.eventLoop(), TimeUnit.MILLISECONDS.toNanos(600), now::get,
                    () -> events.add("idle at " + TimeUnit.NANOSECONDS.toMillis(now.get()) + " ms"));
            timer.start();
        }

        void advance(long millis) {
            now.addAndGet(TimeUnit.MILLISECONDS.toNanos(millis));
            ch.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
            ch.runScheduledPendingTasks();
        }
    }

    @Test
    void aStreamTheGatewayOpenedIsIdleOnlyAfterNoFrameMovedEitherWayForTheTimeout() {
        IdleRig rig = new IdleRig();
        rig.advance(400);
        rig.timer.activity(); // a frame written
        rig.advance(400);
        assertThat(rig.events).as("at 800 ms: a write 400 ms ago").isEmpty();
        rig.timer.reading(); // a frame read, and the read complete
        rig.timer.readComplete();
        rig.advance(599);
        assertThat(rig.events).as("at 1,399 ms: a read 599 ms ago").isEmpty();
        rig.advance(1);
        assertThat(rig.events).as("at 1,400 ms: 600 ms without a frame").containsExactly("idle at 1400 ms");
        rig.advance(600);
        assertThat(rig.events).as("and again every 600 ms").containsExactly("idle at 1400 ms", "idle at 2000 ms");
        rig.timer.stop();
        assertThat(rig.ch.runScheduledPendingTasks()).as("a stopped timer is not scheduled").isEqualTo(-1);
        rig.ch.finishAndReleaseAll();
    }

    @Test
    void aReadInProgressIsNotIdleHoweverLongItTakes() {
        IdleRig rig = new IdleRig();
        rig.timer.reading();
        rig.advance(600);
        rig.advance(600);
        assertThat(rig.events).as("the read has not completed yet").isEmpty();
        rig.timer.readComplete();
        rig.advance(599);
        assertThat(rig.events).isEmpty();
        rig.advance(601);
        assertThat(rig.events).hasSize(1);
        rig.timer.stop();
        rig.ch.finishAndReleaseAll();
    }
}
