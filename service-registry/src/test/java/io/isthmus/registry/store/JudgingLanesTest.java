package io.isthmus.registry.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/**
 * The records of one key are judged in the order they arrived (a later record judged first would make the earlier one
 * read as a replay), a purge waits for what arrived before it, and a full lane holds the sender back.
 */
class JudgingLanesTest {

    @Test
    void theRecordsOfOneKeyAreJudgedInTheOrderTheyArrivedWhateverTheOtherKeysDo() {
        Map<String, List<Integer>> seen = new LinkedHashMap<>();
        List<String> keys = List.of("a/ns/one", "b/ns/two", "c/ns/three", "a/ns/four", "b/ns/five");
        keys.forEach(k -> seen.put(k, Collections.synchronizedList(new ArrayList<>())));
        try (JudgingLanes lanes = new JudgingLanes("test", 2)) {
            for (int i = 0; i < 2_000; i++) {
                String key = keys.get(i % keys.size());
                int n = i;
                lanes.submit(key, () -> {
                    if (n % 7 == 0) {
                        Thread.onSpinWait(); // uneven work, so that lanes run at different paces
                    }
                    seen.get(key).add(n);
                });
            }
            assertThat(lanes.drain(10_000)).isTrue();
        }
        for (Map.Entry<String, List<Integer>> e : seen.entrySet()) {
            assertThat(e.getValue()).as("judgements of %s", e.getKey()).hasSize(400).isSorted();
        }
    }

    @Test
    void drainReturnsOnlyAfterEverythingSubmittedBeforeItRan() throws Exception {
        AtomicInteger done = new AtomicInteger();
        CountDownLatch release = new CountDownLatch(1);
        try (JudgingLanes lanes = new JudgingLanes("test", 2)) {
            lanes.submit("a/ns/slow", () -> {
                waitFor(release);
                done.incrementAndGet();
            });
            for (int i = 0; i < 50; i++) {
                lanes.submit("key-" + i, done::incrementAndGet);
            }
            assertThat(lanes.drain(200)).as("a lane is still busy: drain must not claim it ran").isFalse();
            release.countDown();
            assertThat(lanes.drain(10_000)).isTrue();
            assertThat(done).hasValue(51);
        }
    }

    @Test
    void aFullLaneHoldsTheDeliveringThreadUntilItHasRoomInsteadOfQueueingWithoutEnd() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger ran = new AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean submitted = new java.util.concurrent.atomic.AtomicBoolean();
        try (JudgingLanes lanes = new JudgingLanes("test", 1)) {
            lanes.submit("k", () -> waitFor(release));
            for (int i = 0; i < JudgingLanes.CAPACITY; i++) {
                lanes.submit("k", ran::incrementAndGet);
            }
            Thread deliverer = Thread.ofPlatform().start(() -> {
                lanes.submit("k", ran::incrementAndGet);
                submitted.set(true);
            });
            await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).untilFalse(submitted);
            release.countDown();
            deliverer.join(10_000);
            assertThat(submitted).isTrue();
            assertThat(lanes.drain(10_000)).isTrue();
            assertThat(ran).hasValue(JudgingLanes.CAPACITY + 1);
        }
    }

    @Test
    void aClosedLaneDropsWhatIsSubmittedInsteadOfFailingTheWriteThatCarriedIt() {
        JudgingLanes lanes = new JudgingLanes("test", 1);
        lanes.close();
        lanes.submit("a/ns/x", () -> {
            throw new AssertionError("ran after close");
        });
        assertThat(lanes.drain(1_000)).isFalse();
    }

    private static void waitFor(CountDownLatch release) {
        try {
            release.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
