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
