package io.isthmus.gateway.jwt.rotation;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;

import io.isthmus.trust.jwt.JwtKeyReadiness;

/**
 * Whether an admin call may record a rotation step for the whole cluster, judged by the replica that answers it on
 * what every live replica published about itself ({@link ReplicaRotation}). Pure; thread-safe.
 *
 * <p>"Ready" now spans replicas: {@code activate} needs every live replica to hold a prepared key, and each of those
 * keys to be known to every federated peer ({@link JwtKeyReadiness}, as this replica sees the peers' confirmations;
 * peers confirm the cluster's whole bundle, so one replica's view covers every replica's key). A step is refused
 * while a replica has not applied the previous one, naming it and why; asking again for that same step waits for it
 * instead of recording it twice.
 */
public final class ClusterStep {
    private ClusterStep() {
    }

    public enum Refusal {
        STEP_IN_PROGRESS, OUTDATED_REPLICA, ALREADY_PREPARED, NOTHING_PREPARED, NOT_FEDERATED, NOT_RETIRING, NOTHING_RETIRING, NOT_DUE
    }

    public sealed interface Verdict {
        /** Record {@code step} as {@code generation}. */
        record Record(JwtRotationRecord.Step step, long generation, long keyGeneration) implements Verdict {
        }

        /**
         * The same step is recorded already and some replicas are still applying it: wait for them
         * ({@link RepeatedStep} says whether the record must be written again first).
         */
        record Await(JwtRotationRecord current) implements Verdict {
        }

        /** A step out of order: {@code detail} says which replica stands where, and what to do. */
        record Refused(Refusal refusal, String detail) implements Verdict {
        }
    }

    /**
     * @param step the step asked for
     * @param kid for {@code retire/{kid}}: the key the operator named (any replica's retiring key)
     * @param current the last recorded step, if a genuine one is recorded
     * @param replicas every live replica of the cluster (this one included), by name; empty for a replica whose
     *     entry says nothing of the rotation (a gateway from before cluster-wide steps)
     * @param readiness whether a kid may sign yet, as this replica sees the peers' confirmations
     */
    public static Verdict decide(JwtRotationRecord.Step step, Optional<String> kid, Optional<JwtRotationRecord> current,
            Map<String, Optional<ReplicaRotation>> replicas, Function<String, JwtKeyReadiness.Verdict> readiness,
            Instant now) {
        List<String> outdated = replicas.entrySet().stream().filter(e -> e.getValue().isEmpty()).map(Map.Entry::getKey)
                .sorted().toList();
        if (!outdated.isEmpty()) {
            return new Verdict.Refused(Refusal.OUTDATED_REPLICA, "replica(s) " + outdated + " run a gateway that "
                    + "takes no cluster-wide JWT rotation steps; update them first (a step now would rotate only some "
                    + "replicas)");
        }
        Map<String, ReplicaRotation> live = new TreeMap<>();
        replicas.forEach((name, r) -> live.put(name, r.get()));
        long generation = Math.max(current.map(JwtRotationRecord::generation).orElse(0L),
                live.values().stream().mapToLong(ReplicaRotation::applied).max().orElse(0L)) + 1;
        if (current.isPresent()) {
            JwtRotationRecord c = current.get();
            Map<String, String> behind = new TreeMap<>();
            live.forEach((name, r) -> {
                if (r.applied() < c.generation()) {
                    behind.put(name, r.pending().orElse("applying it"));
                }
            });
            if (!behind.isEmpty()) {
                if (c.step() == step) {
                    return new Verdict.Await(c);
                }
                return new Verdict.Refused(Refusal.STEP_IN_PROGRESS, "the cluster's " + c.step().label()
                        + " (generation " + c.generation() + ") is not applied by every replica yet: " + behind
                        + "; ask for " + c.step().label() + " again to wait for it, then for " + step.label());
            }
        }
        return switch (step) {
            case PREPARE -> prepare(live, generation);
            case ACTIVATE -> activate(live, current, generation, readiness);
            case RETIRE -> retire(live, current, kid, generation, now);
        };
    }

    private static Verdict prepare(Map<String, ReplicaRotation> live, long generation) {
        Map<String, String> prepared = new TreeMap<>();
        live.forEach((name, r) -> r.next().ifPresent(k -> prepared.put(name, k)));
        // Only when every replica holds one: a replica without (the record it missed was overwritten) prepares now,
        // and one that has its key already keeps it.
        if (prepared.size() == live.size()) {
            return new Verdict.Refused(Refusal.ALREADY_PREPARED, "jwt key(s) " + prepared + " already prepared; "
                    + "activate first (POST /v1/admin/jwt/activate)");
        }
        return new Verdict.Record(JwtRotationRecord.Step.PREPARE, generation, generation);
    }

    private static Verdict activate(Map<String, ReplicaRotation> live, Optional<JwtRotationRecord> current,
            long generation, Function<String, JwtKeyReadiness.Verdict> readiness) {
        List<String> without = live.entrySet().stream().filter(e -> e.getValue().next().isEmpty())
                .map(Map.Entry::getKey).toList();
        if (without.size() == live.size()) {
            return new Verdict.Refused(Refusal.NOTHING_PREPARED, "no jwt key is prepared; prepare one first "
                    + "(POST /v1/admin/jwt/prepare) and let peers refresh the bundle before activating it");
        }
        if (!without.isEmpty()) {
            return new Verdict.Refused(Refusal.NOTHING_PREPARED, "replica(s) " + without + " hold no prepared jwt "
                    + "key; prepare again (POST /v1/admin/jwt/prepare) so that every replica makes one");
        }
        for (Map.Entry<String, ReplicaRotation> e : live.entrySet()) {
            String next = e.getValue().next().get();
            if (readiness.apply(next) instanceof JwtKeyReadiness.Verdict.NotYet notYet) {
                return new Verdict.Refused(Refusal.NOT_FEDERATED, "replica " + e.getKey() + "'s " + notYet.describe()
                        + "; activate it after that (GET /v1/admin/jwt shows when it is ready)");
            }
        }
        long keyGeneration = current.filter(c -> c.step() == JwtRotationRecord.Step.PREPARE)
                .map(JwtRotationRecord::generation).orElse(generation);
        return new Verdict.Record(JwtRotationRecord.Step.ACTIVATE, generation, keyGeneration);
    }

    private static Verdict retire(Map<String, ReplicaRotation> live, Optional<JwtRotationRecord> current,
            Optional<String> kid, long generation, Instant now) {
        Map<String, ReplicaRotation.Retiring> retiring = new TreeMap<>();
        live.forEach((name, r) -> r.retiring().forEach(x -> retiring.put(x.kid(), x)));
        if (kid.isPresent() && !retiring.containsKey(kid.get())) {
            String k = kid.get();
            Optional<String> activeAt = live.entrySet().stream().filter(e -> e.getValue().active().equals(k))
                    .map(Map.Entry::getKey).findFirst();
            return new Verdict.Refused(Refusal.NOT_RETIRING, "jwt key " + k + " is not retiring (retiring: "
                    + retiring.keySet() + ")" + activeAt.map(r -> "; it is replica " + r + "'s active key: active " + k
                    + " cannot be retired, activate another key first").orElse(""));
        }
        if (retiring.isEmpty()) {
            return new Verdict.Refused(Refusal.NOTHING_RETIRING, "no jwt key is retiring; retire follows an activate");
        }
        for (Map.Entry<String, ReplicaRotation> e : live.entrySet()) {
            for (ReplicaRotation.Retiring r : e.getValue().retiring()) {
                if (now.isBefore(r.until())) {
                    return new Verdict.Refused(Refusal.NOT_DUE, "jwt key " + r.kid() + " of replica " + e.getKey()
                            + " may still have signed live tokens until " + r.until() + "; retire it after that");
                }
            }
        }
        // After a prepare, a retire must not make the prepared keys active at a replica that catches up.
        long keyGeneration = current.filter(c -> c.step() != JwtRotationRecord.Step.PREPARE)
                .map(JwtRotationRecord::keyGeneration).orElse(0L);
        return new Verdict.Record(JwtRotationRecord.Step.RETIRE, generation, keyGeneration);
    }
}
