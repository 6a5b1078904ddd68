package io.isthmus.gateway.jwt;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.KeyPairGenerator;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Which copy of a replica's JWT key entry survives a merge, row by row: the one the replica wrote last, whichever side
 * coordinates the merge (the rows are checked in both orders).
 */
class NewestReplicaKeysTest {
    private static final TrustDomain A = new TrustDomain("a.test");
    private static final Instant T0 = Instant.parse("2026-12-07T05:00:00Z");

    private static JwtAuthority key(String kid) {
        try {
            KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
            ec.initialize(256);
            return new JwtAuthority(kid, ec.generateKeyPair().getPublic());
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final JwtAuthority OLD = key("a-old");
    private static final JwtAuthority NEXT = key("a-next");

    /** a's entry with {@code keys}, written at T0 + {@code writtenSec} (null: not named), expiring at T0 + expiresSec. */
    private static String entry(Long writtenSec, long expiresSec, JwtAuthority... keys) {
        return new ReplicaKeys("a", List.of(keys), T0.plusSeconds(expiresSec), Optional.empty()).toJson(A,
                writtenSec == null ? null : T0.plusSeconds(writtenSec));
    }

    /** copies, the index of the one to keep (-1: none readable, keep the coordinating side's). */
    static Stream<Arguments> rows() {
        String stale = entry(0L, 360, OLD, NEXT);
        String withdrawn = entry(30L, 390, NEXT);
        String stopped = entry(50L, 51, NEXT);
        String legacyOld = entry(null, 360, OLD, NEXT);
        String legacyNew = entry(null, 390, NEXT);
        String sameTimeOther = entry(30L, 390, OLD);
        return Stream.of(
                Arguments.of("a key withdrawn on the other side: the later write", List.of(stale, withdrawn), 1),
                Arguments.of("a stop's shortened entry is later, though it expires sooner", List.of(withdrawn, stopped),
                        1),
                Arguments.of("a copy naming when it was written over one that does not", List.of(legacyNew, stale), 1),
                Arguments.of("neither names it: the later expiry", List.of(legacyOld, legacyNew), 1),
                Arguments.of("one side has no copy", Arrays.asList(null, withdrawn), 1),
                Arguments.of("an unreadable copy loses", List.of("{not json", withdrawn), 1),
                Arguments.of("a copy naming no replica loses", List.of("{\"expires\":\"2026-12-08T00:00:00Z\","
                        + "\"written\":\"2026-12-08T00:00:00Z\"}", stale), 1),
                Arguments.of("an unreadable written time counts as none", List.of(stale.replace(
                        "\"written\":\"2026-12-07T05:00:00Z\"", "\"written\":\"soon\""), withdrawn), 1),
                Arguments.of("three sides", List.of(stale, stopped, withdrawn), 1),
                Arguments.of("the same time, different text: the larger, on every replica",
                        List.of(withdrawn, sameTimeOther), withdrawn.compareTo(sameTimeOther) > 0 ? 0 : 1),
                Arguments.of("nothing readable", Arrays.asList(null, "[]"), -1));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void keepsTheCopyTheReplicaWroteLast(String row, List<String> copies, int kept) {
        assertThat(NewestReplicaKeys.newest(copies)).as(row).isEqualTo(kept);
        List<String> reversed = new ArrayList<>(copies);
        Collections.reverse(reversed);
        int expectedReversed = kept < 0 ? -1 : copies.size() - 1 - kept;
        assertThat(NewestReplicaKeys.newest(reversed)).as(row + ", the other side coordinating").isEqualTo(
                expectedReversed);
    }
}
