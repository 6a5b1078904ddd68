package io.isthmus.gateway.jwt.rotation;

import java.time.Instant;
import java.util.Objects;

/**
 * What to do when the step recorded already is asked for again while some replica has not applied it yet
 * ({@link ClusterStep.Verdict.Await}): the CLI polling {@code activate}, or a retried POST. Pure; thread-safe.
 *
 * <p>Writing the record again costs a synchronous write replicated to every replica, and it helps exactly one
 * replica: one that refuses the record because its signer's SVID has expired ({@link RecordAdmission.Reason#SIGNER_EXPIRED}),
 * which only a record signed now lets catch up. So the record is written again only once its signer has expired at
 * this replica's clock; before that every replica admits it, and the answer is the record held. No skew is added:
 * a replica refuses only once its own clock is past the expiry plus its tolerated skew, and a replica's clock is
 * at most that skew ahead of this one, so by then this replica sees the signer expired too.
 */
public final class RepeatedStep {
    private RepeatedStep() {
    }

    public sealed interface Verdict {
        /** Every replica still admits the record held: answer from it and wait, write nothing. */
        record Hold(JwtRotationRecord current) implements Verdict {
        }

        /** The record's signer expired at {@code expired}: write the same step again, signed now. */
        record RecordAgain(JwtRotationRecord current, Instant expired) implements Verdict {
        }
    }

    /**
     * @param current the record held (genuine: admitted by this replica)
     * @param signerNotAfter the end of the validity of the SVID that signed it
     * @param now this replica's time
     */
    public static Verdict decide(JwtRotationRecord current, Instant signerNotAfter, Instant now) {
        Objects.requireNonNull(current, "current");
        Objects.requireNonNull(signerNotAfter, "signerNotAfter");
        if (now.isAfter(signerNotAfter)) {
            return new Verdict.RecordAgain(current, signerNotAfter);
        }
        return new Verdict.Hold(current);
    }
}
