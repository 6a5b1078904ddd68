package io.isthmus.gateway.jwt.rotation;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

import io.isthmus.trust.jwt.JwtKeyRing;

/**
 * What one replica does next to bring its own key ring to the cluster's recorded rotation step. The replica takes
 * the action, then asks again, until {@link Action.MarkApplied} or {@link Action.Wait}. Idempotent by construction:
 * the answer depends only on the ring and {@link Progress}, so a replica that restarts mid-step, or that starts or
 * rejoins after several steps (only the latest is recorded), lands in the same place. Pure; thread-safe.
 *
 * <ul>
 * <li>{@code prepare}: a ring without a next key prepares one;</li>
 * <li>{@code activate}: the prepared key signs, once <em>this replica</em> sees it federated (so that it never
 * answers 503 for a key it just switched to); a replica that missed the prepare (it was down, or is new) prepares a
 * key first and activates it once that one is federated;</li>
 * <li>{@code retire}: as activate, then the retiring keys leave the ring once their last token has expired.</li>
 * </ul>
 */
public final class RotationPlan {
    private RotationPlan() {
    }

    /**
     * @param applied the last recorded generation this replica has applied
     * @param activeGeneration the generation of the prepare step whose key this replica's active key is (0: a key
     *     made outside any recorded step)
     */
    public record Progress(long applied, long activeGeneration) {
        public Progress {
            if (applied < 0 || activeGeneration < 0) {
                throw new IllegalArgumentException("generations are 0 or more, got " + applied + "/" + activeGeneration);
            }
        }
    }

    public sealed interface Action {
        /** The record's generation is applied here already. */
        record Done() implements Action {
        }

        /** Make a new key and publish it as next. */
        record Prepare() implements Action {
        }

        /** Make the next key active; the active one starts retiring. Set the active generation to {@code keyGeneration}. */
        record Activate(long keyGeneration) implements Action {
        }

        /** Remove these retiring keys, whose tokens have all expired. */
        record Retire(List<String> kids) implements Action {
            public Retire {
                kids = List.copyOf(kids);
            }
        }

        /** The step is applied: record its generation. */
        record MarkApplied(long generation) implements Action {
        }

        /** Cannot go on now; try again later ({@code reason} is published for the admin answer). */
        record Wait(String reason) implements Action {
        }
    }

    /**
     * @param notFederated for a kid, why a federated peer may not know it yet (empty when it is ready to sign)
     */
    public static Action next(Progress progress, JwtKeyRing ring, JwtRotationRecord record,
            Function<String, Optional<String>> notFederated, Instant now) {
        if (record.generation() <= progress.applied()) {
            return new Action.Done();
        }
        if (record.step() == JwtRotationRecord.Step.PREPARE) {
            return ring.next().isEmpty() ? new Action.Prepare() : new Action.MarkApplied(record.generation());
        }
        if (progress.activeGeneration() < record.keyGeneration()) {
            if (ring.next().isEmpty()) {
                return new Action.Prepare();
            }
            String kid = ring.next().get().keyId();
            Optional<String> why = notFederated.apply(kid);
            if (why.isPresent()) {
                return new Action.Wait("its prepared key " + kid + " waits to be federated: " + why.get());
            }
            return new Action.Activate(record.keyGeneration());
        }
        if (record.step() == JwtRotationRecord.Step.RETIRE) {
            List<String> due = ring.retiring().stream().filter(r -> !now.isBefore(r.until()))
                    .map(r -> r.authority().keyId()).toList();
            if (!due.isEmpty()) {
                return new Action.Retire(due);
            }
            Optional<JwtKeyRing.Retiring> live = ring.retiring().stream().findFirst();
            if (live.isPresent()) {
                return new Action.Wait("its retiring key " + live.get().authority().keyId() + " may have signed live "
                        + "tokens until " + live.get().until() + "; it leaves then");
            }
        }
        return new Action.MarkApplied(record.generation());
    }
}
