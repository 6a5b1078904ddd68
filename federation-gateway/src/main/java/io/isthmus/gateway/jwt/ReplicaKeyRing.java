package io.isthmus.gateway.jwt;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.isthmus.gateway.jwt.rotation.ReplicaRotation;
import io.isthmus.gateway.jwt.rotation.RotationPlan;
import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.jwt.JwtKeyRing;
import io.isthmus.trust.jwt.JwtKeyStore;
import io.isthmus.trust.jwt.JwtSigningKey;

/**
 * This replica's own JWT key ring under {@code <dir>} (its private keys never leave it), how far it has followed the
 * cluster's recorded rotation steps, and the announcement of both to the other replicas ({@link ReplicaKeyDirectory}).
 * The steps are taken for the cluster's recorded step ({@link ClusterJwtRotation} decides which, by
 * {@link RotationPlan}). Each persists the ring, then the progress, then announces both; a crash in between repeats
 * the step harmlessly (the plan is idempotent). Thread-safe: steps are serialized; readers see whole values.
 */
final class ReplicaKeyRing {
    private final JwtKeyStore store;
    private final RotationProgressStore progressStore;
    private final ReplicaKeyDirectory replicas;
    private final Clock clock;
    private final Duration svidTtl;
    private final boolean fresh;
    private volatile JwtKeyRing ring;
    private volatile RotationPlan.Progress progress;
    private volatile Optional<String> pending = Optional.empty();

    ReplicaKeyRing(Path dir, ReplicaKeyDirectory replicas, Clock clock, Duration svidTtl) throws IOException {
        this.store = new JwtKeyStore(dir);
        this.progressStore = new RotationProgressStore(dir);
        this.replicas = replicas;
        this.clock = clock;
        this.svidTtl = svidTtl;
        Optional<JwtKeyRing> stored = store.load();
        this.fresh = stored.isEmpty();
        JwtKeyRing loaded = stored.orElseGet(() -> JwtKeyRing.of(JwtSigningKey.generate()));
        commit(loaded.pruned(clock.instant()), progressStore.load(), Optional.empty());
    }

    JwtKeyRing ring() {
        return ring;
    }

    RotationPlan.Progress progress() {
        return progress;
    }

    String replicaName() {
        return replicas.replicaName();
    }

    synchronized void prepare() throws IOException {
        commit(ring.pruned(clock.instant()).prepare(JwtSigningKey.generate()), progress, Optional.empty());
    }

    synchronized void activate(long keyGeneration) throws IOException {
        commit(ring.pruned(clock.instant()).activate(clock.instant(), svidTtl),
                new RotationPlan.Progress(progress.applied(), keyGeneration), Optional.empty());
    }

    synchronized void retire(List<String> kids) throws IOException {
        JwtKeyRing next = ring;
        for (String kid : kids) {
            next = next.retire(kid, clock.instant());
        }
        commit(next, progress, Optional.empty());
    }

    synchronized void markApplied(long generation) throws IOException {
        commit(ring.pruned(clock.instant()), new RotationPlan.Progress(Math.max(generation, progress.applied()),
                progress.activeGeneration()), Optional.empty());
    }

    /** Publishes why this replica cannot apply the recorded step yet (only when the reason changed). */
    synchronized void pending(String reason) throws IOException {
        if (!Optional.of(reason).equals(pending)) {
            commit(ring, progress, Optional.of(reason));
        }
    }

    /** A ring made at this start counts as of the recorded step: its key is as new as that step's keys. */
    synchronized void adopt(RotationPlan.Progress current) throws IOException {
        if (fresh && progress.applied() == 0) {
            commit(ring, current, Optional.empty());
        }
    }

    /** Where every live replica of the cluster stands (this one included), by name. */
    Map<String, Optional<ReplicaRotation>> replicaRotations() {
        return replicas.liveRotations();
    }

    List<String> publishedKeyIds() {
        return ring.published().stream().map(JwtAuthority::keyId).toList();
    }

    private void commit(JwtKeyRing next, RotationPlan.Progress nextProgress, Optional<String> nextPending)
            throws IOException {
        store.save(next);
        progressStore.save(nextProgress);
        this.ring = next;
        this.progress = nextProgress;
        this.pending = nextPending;
        replicas.announce(next.published(), Optional.of(new ReplicaRotation(nextProgress.applied(),
                next.active().keyId(), next.next().map(JwtSigningKey::keyId), next.retiring().stream()
                        .map(x -> new ReplicaRotation.Retiring(x.authority().keyId(), x.until())).toList(),
                nextPending)));
    }
}
