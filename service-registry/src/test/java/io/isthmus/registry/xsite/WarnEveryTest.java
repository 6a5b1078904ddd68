package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

class WarnEveryTest {
    @Test
    void letsTheFirstWarningThroughThenNoneWithinTheInterval() {
        WarnEvery minute = new WarnEvery(Duration.ofMinutes(1));
        assertThat(minute.due()).isTrue();
        assertThat(IntStream.range(0, 1000).filter(i -> minute.due()).count()).isZero();
    }

    @Test
    void letsOneThroughAgainOnceTheIntervalPassed() throws InterruptedException {
        WarnEvery shortly = new WarnEvery(Duration.ofMillis(20));
        assertThat(shortly.due()).isTrue();
        Thread.sleep(40);
        assertThat(shortly.due()).isTrue();
    }

    @Test
    void onlyOneOfManyConcurrentCallersIsLetThrough() {
        WarnEvery minute = new WarnEvery(Duration.ofMinutes(1));
        AtomicInteger through = new AtomicInteger();
        IntStream.range(0, 10_000).parallel().forEach(i -> {
            if (minute.due()) {
                through.incrementAndGet();
            }
        });
        assertThat(through).hasValue(1);
    }
}
