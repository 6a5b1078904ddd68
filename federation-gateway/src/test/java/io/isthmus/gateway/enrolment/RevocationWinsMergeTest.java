package io.isthmus.gateway.enrolment;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/** {@link RevocationWinsMerge#choose}: which copy of a VM identity survives a merge of partitions. */
class RevocationWinsMergeTest {
    private static final SpiffeId VM = SpiffeId.ofServiceAccount(new TrustDomain("a.test"), "shop", "vm");
    private static final Instant T0 = Instant.parse("2026-12-06T10:00:00Z");
    private static final String ACTIVE = EnrolmentJson.write(new VmIdentity(VM, VmIdentity.State.ACTIVE,
            Optional.of(T0), Optional.empty(), Optional.empty()));
    private static final String ACTIVE_LATER = EnrolmentJson.write(new VmIdentity(VM, VmIdentity.State.ACTIVE,
            Optional.of(T0.plusSeconds(60)), Optional.empty(), Optional.empty()));
    private static final String REVOKED_1 = revoked(1, "first");
    private static final String REVOKED_2 = revoked(2, "second");

    private static String revoked(long minutes, String reason) {
        return EnrolmentJson.write(new VmIdentity(VM, VmIdentity.State.REVOKED, Optional.of(T0),
                Optional.of(T0.plusSeconds(60 * minutes)), Optional.of(reason)));
    }

    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of("the preferred side revoked", Arrays.asList(REVOKED_1, ACTIVE), 0),
                Arguments.of("another side revoked: revocation wins over the preferred side", Arrays.asList(ACTIVE,
                        REVOKED_1), 1),
                Arguments.of("revoked on a third side only", Arrays.asList(ACTIVE, ACTIVE_LATER, REVOKED_2), 2),
                Arguments.of("revoked on two sides: the earliest revocation", Arrays.asList(REVOKED_2, REVOKED_1), 1),
                Arguments.of("active everywhere: the preferred side", Arrays.asList(ACTIVE_LATER, ACTIVE), 0),
                Arguments.of("the preferred side has none: another side's copy is kept", Arrays.asList(null, ACTIVE),
                        1),
                Arguments.of("only the preferred side has it", Arrays.asList(ACTIVE, null), 0),
                Arguments.of("an unreadable preferred copy is not chosen over a readable one",
                        Arrays.asList("{not json", ACTIVE), 1),
                Arguments.of("an unreadable copy does not hide a revocation", Arrays.asList("{\"id\":1}", REVOKED_1,
                        ACTIVE), 1),
                Arguments.of("nothing readable: the first present copy", Arrays.asList(null, "{not json"), 1),
                Arguments.of("no copy at all", Arrays.asList((String) null), -1),
                Arguments.of("no sides", List.of(), -1));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void keepsARevocationFromAnySide(String row, List<String> copies, int kept) {
        assertThat(RevocationWinsMerge.choose(copies)).isEqualTo(kept);
    }
}
