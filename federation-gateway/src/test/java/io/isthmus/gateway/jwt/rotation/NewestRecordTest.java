package io.isthmus.gateway.jwt.rotation;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.Arrays;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;

/** Which copy of the rotation record survives the merge after a partition between the replicas. */
class NewestRecordTest {
    private static final TrustDomain A = new TrustDomain("a.test");
    private static final TestCa PKI = TestCa.create();
    private static final CaCredential CA = PKI.intermediate(A.name());
    private static final X509Svid SVID = TestCa.svid(CA, "spiffe://a.test/ns/isthmus-system/sa/gateway");
    private static final Instant T = Instant.parse("2026-12-01T10:00:00Z");

    private static final String ACTIVATE_2 = record(2, JwtRotationRecord.Step.ACTIVATE, 1, T);
    private static final String RETIRE_3 = record(3, JwtRotationRecord.Step.RETIRE, 1, T.plusSeconds(60));
    private static final String PREPARE_3_EARLIER = record(3, JwtRotationRecord.Step.PREPARE, 3, T.plusSeconds(30));
    private static final String PREPARE_4 = record(4, JwtRotationRecord.Step.PREPARE, 4, T.plusSeconds(90));

    private static String record(long generation, JwtRotationRecord.Step step, long keyGeneration, Instant at) {
        return SignedRotationRecord.sign(new JwtRotationRecord(A, generation, step, keyGeneration, "admin", at, "one"),
                SVID);
    }

    static Stream<Arguments> rows() {
        return Stream.of(
                Arguments.of("the coordinating (cut-off) side's older record loses to the retire made on the other side",
                        new String[] {ACTIVATE_2, RETIRE_3}, 1),
                Arguments.of("the newer record kept when it is the preferred copy", new String[] {RETIRE_3, ACTIVATE_2}, 0),
                Arguments.of("highest generation among several copies", new String[] {ACTIVATE_2, PREPARE_4, RETIRE_3}, 1),
                Arguments.of("a side that holds no record (absent copy) takes the other's",
                        new String[] {null, ACTIVATE_2}, 1),
                Arguments.of("an unreadable copy loses to a readable older one", new String[] {"{not a record", ACTIVATE_2},
                        1),
                Arguments.of("a forged payload that does not parse loses", new String[] {ACTIVATE_2,
                        "{\"payload\":\"eyJnZW5lcmF0aW9uIjo5OX0\",\"x5c\":[],\"sig\":\"\"}"}, 0),
                Arguments.of("nothing readable: no choice (the preferred copy stays)", new String[] {null, "garbage"}, -1),
                Arguments.of("same generation, two steps: the later request wins, on either side",
                        new String[] {PREPARE_3_EARLIER, RETIRE_3}, 1),
                Arguments.of("same generation, two steps, other order", new String[] {RETIRE_3, PREPARE_3_EARLIER}, 0),
                Arguments.of("identical copies: the preferred one", new String[] {RETIRE_3, RETIRE_3}, 0),
                Arguments.of("a single copy", new String[] {ACTIVATE_2}, 0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void keepsTheNewestCopy(String row, String[] copies, int kept) {
        assertThat(NewestRecord.newest(Arrays.asList(copies))).as(row).isEqualTo(kept);
    }
}
