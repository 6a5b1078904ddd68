package io.isthmus.trust.concurrent;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

class WorkersTest {
    @Test
    void aTaskThatFinishesWithinTheGraceIsNotInterrupted() throws Exception {
        ExecutorService worker = Executors.newSingleThreadExecutor();
        CountDownLatch started = new CountDownLatch(1);
        AtomicBoolean interrupted = new AtomicBoolean();
        AtomicBoolean finished = new AtomicBoolean();
        worker.execute(() -> {
            started.countDown();
            try {
                Thread.sleep(300);
                finished.set(true);
            } catch (InterruptedException e) {
                interrupted.set(true);
            }
        });
        AtomicBoolean queuedRan = new AtomicBoolean();
        worker.execute(() -> queuedRan.set(true));
        assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();

        assertThat(Workers.stop(worker, Duration.ofSeconds(5))).as("ended within the grace").isTrue();
        assertThat(finished).isTrue();
        assertThat(interrupted).isFalse();
        assertThat(queuedRan).as("a task queued before the stop ran too").isTrue();
        assertThat(worker.isTerminated()).isTrue();
    }

    @Test
    void aTaskStillRunningAfterTheGraceIsInterrupted() throws Exception {
        ExecutorService worker = Executors.newSingleThreadExecutor();
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch interrupted = new CountDownLatch(1);
        worker.execute(() -> {
            started.countDown();
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                interrupted.countDown();
            }
        });
        assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();

        assertThat(Workers.stop(worker, Duration.ofMillis(200))).as("ended within the grace").isFalse();
        assertThat(interrupted.await(5, TimeUnit.SECONDS)).as("interrupted after the grace").isTrue();
        assertThat(worker.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
    }
}
