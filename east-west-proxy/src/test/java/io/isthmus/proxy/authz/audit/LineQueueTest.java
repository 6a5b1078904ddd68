package io.isthmus.proxy.authz.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The log writer's queue: everything offered is written in order, in bounded batches, and nothing is lost at close. */
class LineQueueTest {
    @Test
    void writesEveryEntryInOrderInBoundedBatchesAndDrainsOnClose() {
        List<Integer> written = new CopyOnWriteArrayList<>();
        List<Integer> batchSizes = new CopyOnWriteArrayList<>();
        LineQueue<Integer> queue = new LineQueue<>("line-queue-test", 4096, (batch, caughtUp) -> {
            batchSizes.add(batch.size());
            written.addAll(batch);
        });
        List<Integer> offered = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            assertThat(queue.offer(i)).isTrue();
            offered.add(i);
        }
        queue.close();
        assertThat(written).isEqualTo(offered);
        assertThat(batchSizes).allMatch(n -> n > 0 && n <= 512);
        assertThat(queue.offer(3000)).as("a closed queue takes nothing").isFalse();
    }

    @ParameterizedTest(name = "after draining {0}: sleeps {1} ms")
    @CsvSource({"0, 20", "1, 2", "2, 2", "120, 2", "511, 2"})
    void sleepsShortWhileLinesFlowAndLongOnceIdle(int drained, long millis) {
        assertThat(LineQueue.sleepAfter(drained)).isEqualTo(Duration.ofMillis(millis));
    }

    @ParameterizedTest(name = "{0} entries")
    @ValueSource(ints = {-1, 512, 513})
    void aFullBatchOrANegativeCountIsNotASleep(int drained) {
        // After a full batch the writer drains again at once; it never sleeps on a count it cannot have drained.
        assertThatThrownBy(() -> LineQueue.sleepAfter(drained)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0-511 entries, got " + drained);
    }

    @Test
    void anEntryReachesTheWriterWithinAFewTicksWithoutAnyWakeUp() {
        List<String> written = new CopyOnWriteArrayList<>();
        try (LineQueue<String> queue = new LineQueue<>("line-queue-test", 16, (batch, caughtUp) -> written.addAll(batch))) {
            queue.offer("one");
            await().atMost(Duration.ofSeconds(10)).until(() -> written.contains("one"));
        }
    }

    @Test
    void aFullQueueRefusesInsteadOfBlocking() throws Exception {
        CountDownLatch stuck = new CountDownLatch(1);
        CountDownLatch writing = new CountDownLatch(1);
        try (LineQueue<Integer> queue = new LineQueue<>("line-queue-test", 2, (batch, caughtUp) -> {
            writing.countDown();
            try {
                stuck.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        })) {
            queue.offer(0);
            writing.await();
            assertThat(queue.offer(1)).isTrue();
            assertThat(queue.offer(2)).isTrue();
            assertThat(queue.offer(3)).isFalse();
            stuck.countDown();
        }
    }

    @Test
    void refusesAQueueWithoutRoom() {
        assertThatThrownBy(() -> new LineQueue<>("isthmus-access-log", 0, (batch, caughtUp) -> { }))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("isthmus-access-log: queue capacity must be at least 1, got 0");
    }
}
