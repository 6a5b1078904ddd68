package io.isthmus.agent.workload;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/** Refusal lines are throttled per (uid, reason) on a controlled clock, and every refusal is counted. */
class RefusalLogTest {
    private final AtomicLong now = new AtomicLong(1_000);
    private final List<String> lines = new ArrayList<>();
    private final RefusalLog log = new RefusalLog(Duration.ofMinutes(1), now::get, lines::add);

    @Test
    void aThousandRefusalsInOneMinuteAreOneLineThenOneLineWithTheCount() {
        for (int i = 0; i < 1000; i++) {
            log.refused(1001, "no-matching-entry", "refused call " + i);
        }
        assertThat(lines).containsExactly("refused call 0 (refusals of uid 1001 for no-matching-entry are logged at most"
                + " once per 60 s)");
        now.addAndGet(Duration.ofMinutes(1).toNanos());
        log.refused(1001, "no-matching-entry", "refused call 1000");
        assertThat(lines).hasSize(2).last().asString().isEqualTo("refused call 1000; 999 more refused for uid 1001"
                + " (no-matching-entry) since the last line, 1001 in all");
        assertThat(log.total()).isEqualTo(1001);
    }

    @Test
    void eachUidAndReasonHasItsOwnWindow() {
        log.refused(1001, "no-matching-entry", "a");
        log.refused(1002, "no-matching-entry", "b");
        log.refused(1001, "unattested", "c");
        log.refused(1001, "no-matching-entry", "d");
        assertThat(lines).extracting(l -> l.substring(0, 1)).containsExactly("a", "b", "c");
    }

    @Test
    void aCallerSwitchingUidsStillWritesABoundedNumberOfLines() {
        for (int uid = 0; uid < 10_000; uid++) {
            log.refused(uid, "no-matching-entry", "uid " + uid);
        }
        assertThat(lines).hasSize(RefusalLog.MAX_KEYS + 1);
        assertThat(lines.get(RefusalLog.MAX_KEYS)).contains("uid unknown or beyond the first 256");
        assertThat(log.total()).isEqualTo(10_000);
    }
}
