package io.isthmus.gateway.rotation;

import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;

/**
 * Whether an intermediate rotation step may be taken through the admin API, given the gateway replicas this one sees.
 *
 * <p>A step writes its state and the new private key in the answering replica's own
 * {@code <data-dir>/rotation/intermediate}; nothing carries it to the other replicas. Behind a load balancer each call
 * lands on any replica, so with several replicas one of them would activate an intermediate the others never publish,
 * and peers holding their bundle would refuse its SVIDs. So the steps that start or advance a rotation run only on a
 * cluster's only replica. Reading ({@code status}, {@code wait}) and {@code abort} (which discards a rotation that was
 * not activated, so an operator can always clean up) stay allowed, as does {@code retire}: it only removes the old
 * CA at a replica that already activated, which the clock does by itself on every replica of a file-driven rotation.
 * Pure: no I/O.
 */
public final class ReplicaGate {
    /** Code of the refusal, in the admin API's {@code {"code", "detail"}} answer. */
    public static final String SEVERAL_REPLICAS = "several-replicas";

    private ReplicaGate() {
    }

    /** The admin API's rotation calls. */
    public enum Step {
        STATUS(false), PREPARE(true), SIGN(true), PUBLISH(true), WAIT(false), ACTIVATE(true), RETIRE(false),
        ABORT(false);

        private final boolean replicaLocal;

        Step(boolean replicaLocal) {
            this.replicaLocal = replicaLocal;
        }

        /** The step starts or advances a rotation held in this replica's data directory only. */
        public boolean replicaLocal() {
            return replicaLocal;
        }
    }

    /** The verdict. */
    public sealed interface Verdict {
    }

    public record Allowed() implements Verdict {
    }

    /** @param replicas every replica seen, this one included, sorted */
    public record SeveralReplicas(Step step, String self, List<String> replicas) implements Verdict {
        public SeveralReplicas {
            Objects.requireNonNull(step, "step");
            Objects.requireNonNull(self, "self");
            replicas = List.copyOf(replicas);
            if (replicas.size() < 2) {
                throw new IllegalArgumentException("several replicas, not " + replicas);
            }
        }

        public String code() {
            return SEVERAL_REPLICAS;
        }

        public String message() {
            return "rotation step '" + step.name().toLowerCase(java.util.Locale.ROOT) + "' refused: this cluster runs "
                    + replicas.size() + " gateway replicas " + replicas + " (this one is " + self + "), and an admin-API "
                    + "rotation lives in the answering replica's data directory only, so the others would never "
                    + "publish its intermediate. Either write the new intermediate key and chain into the CA "
                    + "Secret/files (isthmus.ca.intermediate-*) that every replica watches, so each rotates by "
                    + "itself, or scale the gateway to one replica for the rotation (and write the intermediate it "
                    + "activated into the Secret/files before scaling up again, or new replicas sign with the old one). "
                    + "'rotate status' and 'rotate abort' stay available";
        }
    }

    /**
     * @param self this replica's name in the cluster view
     * @param members the current view of this cluster's replicas ({@code self} is counted whether listed or not)
     */
    public static Verdict decide(Step step, String self, Collection<String> members) {
        Objects.requireNonNull(step, "step");
        Objects.requireNonNull(self, "self");
        if (!step.replicaLocal()) {
            return new Allowed();
        }
        TreeSet<String> seen = new TreeSet<>(members);
        seen.add(self);
        return seen.size() == 1 ? new Allowed() : new SeveralReplicas(step, self, List.copyOf(seen));
    }
}
