package io.isthmus.trust.federation;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which store swap's bundle set may replace the one in a trust snapshot: only a later one. */
class BundleGenerationTest {
    @ParameterizedTest(name = "swap {0} over swap {1}: {2} ({3})")
    @CsvSource({
            "1, 0, true, the first swap over the set read at start",
            "2, 1, true, the next swap",
            "9, 5, true, a later swap whose earlier ones were overtaken",
            "5, 5, false, the same swap told again",
            "4, 5, false, computed first and told last: the race",
            "0, 1, false, the set read at start told after a swap",
            "1, 9, false, much older",
    })
    void onlyALaterSwapReplacesTheSetInForce(long offered, long installed, boolean supersedes, String row) {
        assertThat(BundleGeneration.supersedes(offered, installed)).as(row).isEqualTo(supersedes);
    }
}
