package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The registry's timings check themselves: each broken rule names its setting, the value and what to do. */
class TimingTest {
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            defaults (WAN)            | 20000 | 4000  | 500 | 2000 | 5000 | 15000 | 1000 | 3000 |                                  |
            test timings              | 4000  | 1000  | 500 | 500  | 1000 | 3000  | 500  | 3000 |                                  |
            interval exactly half     | 8000  | 4000  | 500 | 2000 | 5000 | 15000 | 1000 | 3000 |                                  |
            zero failure timeout      | 0     | 4000  | 500 | 2000 | 5000 | 15000 | 1000 | 3000 | failure-detection.timeout        | failure-detection.timeout is 0 ms; it must be a positive duration
            negative interval         | 20000 | -1    | 500 | 2000 | 5000 | 15000 | 1000 | 3000 | failure-detection.interval       | failure-detection.interval is -1 ms
            interval above half       | 20000 | 10001 | 500 | 2000 | 5000 | 15000 | 1000 | 3000 | failure-detection.interval       | must be at most half of failure-detection.timeout (20000 ms)
            zero local join timeout   | 20000 | 4000  | 0   | 2000 | 5000 | 15000 | 1000 | 3000 | local-join-timeout               | local-join-timeout is 0 ms
            zero bridge join timeout  | 20000 | 4000  | 500 | 0    | 5000 | 15000 | 1000 | 3000 | bridge-join-timeout              | bridge-join-timeout is 0 ms
            merge min not below max   | 20000 | 4000  | 500 | 2000 | 15000| 15000 | 1000 | 3000 | merge-interval.min               | must be below merge-interval.max (15000 ms)
            zero verify timeout       | 20000 | 4000  | 500 | 2000 | 5000 | 15000 | 0    | 3000 | failure-detection.verify-timeout | failure-detection.verify-timeout is 0 ms
            zero backup timeout       | 20000 | 4000  | 500 | 2000 | 5000 | 15000 | 1000 | 0    | backup-timeout                   | backup-timeout is 0 ms
            """)
    void checksEveryRule(String row, long timeout, long interval, long localJoin, long bridgeJoin, long mergeMin,
            long mergeMax, long verify, long backup, String key, String message) {
        if (key == null) {
            assertThat(new ChannelFactory.Timing(timeout, interval, localJoin, bridgeJoin, mergeMin, mergeMax, verify,
                    backup).backupTimeoutMillis()).isEqualTo(backup);
            return;
        }
        assertThatThrownBy(() -> new ChannelFactory.Timing(timeout, interval, localJoin, bridgeJoin, mergeMin, mergeMax,
                verify, backup))
                .isInstanceOfSatisfying(ChannelFactory.InvalidTiming.class, e -> assertThat(e.key()).isEqualTo(key))
                .hasMessageContaining(message);
    }
}
