package io.isthmus.gateway.jwt;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import java.util.function.Supplier;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.infinispan.manager.EmbeddedCacheManager;
import org.jboss.logging.Logger;

import io.isthmus.gateway.enrolment.EnrolmentStores;
import io.isthmus.gateway.jwt.rotation.ClusterStep;
import io.isthmus.gateway.jwt.rotation.JwtRotationRecord;
import io.isthmus.gateway.jwt.rotation.RecordAdmission;
import io.isthmus.gateway.jwt.rotation.RepeatedStep;
import io.isthmus.gateway.jwt.rotation.ReplicaRotation;
import io.isthmus.gateway.jwt.rotation.RotationChannel;
import io.isthmus.gateway.jwt.rotation.RotationPlan;
import io.isthmus.gateway.jwt.rotation.SignedRotationRecord;
import io.isthmus.gateway.trust.TrustService;
import io.isthmus.trust.jwt.JwtKeyReadiness;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.quarkus.runtime.Startup;

/**
 * Cluster-wide JWT rotation: a step asked of any replica is recorded, signed with that replica's gateway SVID, in a
 * cache replicated among the cluster's replicas ({@link RotationChannel}); every replica applies the recorded step to
 * its own key ring ({@link RotationPlan}: on every change of the record and every half second, so a replica that
 * starts, rejoins or waits for its key to be federated catches up by itself) and publishes where it stands in its
 * replica key entry. The replica that answered the admin call waits, for {@code isthmus.jwt.rotation-wait}, until
 * every live replica has applied it. Private keys never leave their replica: only the step travels. Thread-safe:
 * applying is serialized; admin calls wait outside the lock.
 */
@ApplicationScoped
@Startup
public class ClusterJwtRotation {
    private static final Logger LOG = Logger.getLogger(ClusterJwtRotation.class);
    private static final Duration TICK = Duration.ofMillis(500);

    private final ReplicaKeyRing keys;
    private final Function<String, JwtKeyReadiness.Verdict> readiness;
    private final Identity identity;
    private final Clock clock;
    private final Duration wait;
    private final RotationChannel channel;
    private final ScheduledExecutorService worker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "isthmus-jwt-rotation");
        t.setDaemon(true);
        return t;
    });
    private final Set<String> warned = ConcurrentHashMap.newKeySet();

    /** What one admin step did: the record, where every live replica stands, and whether all have applied it. */
    public record StepResult(JwtRotationRecord record, Map<String, Optional<ReplicaRotation>> replicas,
            boolean complete) {
    }

    /** A step the cluster cannot take now, or could not record. */
    public static final class Refused extends RuntimeException {
        private static final long serialVersionUID = 1L;

        private final transient ClusterStep.Refusal refusal;

        Refused(ClusterStep.Refusal refusal, String detail) {
            super(detail);
            this.refusal = refusal;
        }

        public Optional<ClusterStep.Refusal> refusal() {
            return Optional.ofNullable(refusal);
        }
    }

    /**
     * What records are signed with and judged by: this cluster's trust domain and gateway identity, this replica's
     * current SVID (read at each step: it renews), and its SVID verifier (this trust domain's bundle, read at each
     * check).
     */
    record Identity(TrustDomain trustDomain, SpiffeId gateway, Supplier<X509Svid> svid, X509SvidVerifier verifier,
            Duration skew) {
    }

    @Inject
    public ClusterJwtRotation(JwtAuthorityService authority, TrustService trust, EnrolmentStores stores,
            JwtConfig config, Clock clock) {
        this(authority.keys(), authority::readiness, new Identity(trust.runtime().trustDomain(),
                trust.runtime().settings().gatewayId(), () -> trust.runtime().current(), trust.runtime().verifier(),
                trust.runtime().settings().clockSkew()), stores.cacheManager(), config.rotationWait(), clock);
    }

    ClusterJwtRotation(ReplicaKeyRing keys, Function<String, JwtKeyReadiness.Verdict> readiness, Identity identity,
            EmbeddedCacheManager manager, Duration wait, Clock clock) {
        this.keys = keys;
        this.readiness = readiness;
        this.identity = identity;
        this.clock = clock;
        this.wait = wait;
        this.channel = new RotationChannel(manager, () -> {
            if (!worker.isShutdown()) {
                worker.execute(this::applyQuietly);
            }
        });
        try {
            // A ring made at this start is as new as the recorded step's keys: nothing to rotate.
            Optional<JwtRotationRecord> current = current();
            if (current.isPresent()) {
                JwtRotationRecord r = current.get();
                keys.adopt(new RotationPlan.Progress(0, r.step() == JwtRotationRecord.Step.PREPARE ? 0
                        : r.keyGeneration()));
            }
        } catch (IOException e) {
            LOG.warnf("could not record this replica's new JWT key as current with the cluster's rotation: %s", e);
        }
        worker.scheduleWithFixedDelay(this::applyQuietly, 0, TICK.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Records {@code step} for the whole cluster and waits until every live replica applied it (or the wait ends).
     *
     * @param kid for {@code retire/{kid}}: the key the operator named
     * @throws Refused for a step out of order, naming the replica and what to do
     */
    public StepResult take(JwtRotationRecord.Step step, Optional<String> kid, String principal) throws IOException {
        Optional<String> raw = channel.read();
        Optional<JwtRotationRecord> current = raw.flatMap(this::genuine);
        ClusterStep.Verdict verdict = ClusterStep.decide(step, kid, current, keys.replicaRotations(),
                readiness, clock.instant());
        JwtRotationRecord record = switch (verdict) {
            case ClusterStep.Verdict.Refused r -> throw new Refused(r.refusal(), r.detail());
            case ClusterStep.Verdict.Await a -> switch (RepeatedStep.decide(a.current(), signerNotAfter(raw.get()),
                    clock.instant())) {
                case RepeatedStep.Verdict.Hold h -> h.current();
                // Same generation, signed now, so that a replica that refuses the record for its expired signer
                // (RecordAdmission) can apply it.
                case RepeatedStep.Verdict.RecordAgain again -> {
                    try {
                        yield record(raw, again.current().generation(), again.current().step(),
                                again.current().keyGeneration(), principal, "recorded again (its signer's SVID "
                                        + "expired at " + again.expired() + ")");
                    } catch (Refused lost) {
                        yield again.current(); // another replica recorded it again meanwhile: wait for it as before
                    }
                }
            };
            case ClusterStep.Verdict.Record r -> record(raw, r.generation(), r.step(), r.keyGeneration(), principal,
                    "recorded");
        };
        apply();
        Instant deadline = clock.instant().plus(wait);
        while (true) {
            Map<String, Optional<ReplicaRotation>> replicas = keys.replicaRotations();
            boolean complete = replicas.values().stream()
                    .allMatch(r -> r.isPresent() && r.get().applied() >= record.generation());
            if (complete || !clock.instant().isBefore(deadline)) {
                return new StepResult(record, replicas, complete);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
        }
    }

    private JwtRotationRecord record(Optional<String> raw, long generation, JwtRotationRecord.Step step,
            long keyGeneration, String principal, String what) throws IOException {
        JwtRotationRecord next = new JwtRotationRecord(identity.trustDomain(), generation, step, keyGeneration, principal,
                clock.instant(), keys.replicaName());
        if (!channel.write(raw, SignedRotationRecord.sign(next, identity.svid().get()))) {
            throw new Refused(ClusterStep.Refusal.STEP_IN_PROGRESS, "another rotation step was recorded "
                    + "while this one was decided (an admin call at another replica); GET /v1/admin/jwt "
                    + "shows it, then ask again");
        }
        LOG.infof("JWT rotation step %s (generation %d) %s for every replica of %s, asked by %s", step.label(),
                generation, what, identity.trustDomain(), principal);
        return next;
    }

    /** When the SVID that signed {@code raw} expires; only for a record {@link #genuine} admitted. */
    private static Instant signerNotAfter(String raw) {
        return SignedRotationRecord.read(raw).chain().get(0).getNotAfter().toInstant();
    }

    /** The recorded step, if one is recorded and genuine. */
    public Optional<JwtRotationRecord> current() {
        return channel.read().flatMap(this::genuine);
    }

    private Optional<JwtRotationRecord> genuine(String raw) {
        return switch (admit(raw)) {
            case RecordAdmission.Verdict.Apply a -> Optional.of(a.record());
            case RecordAdmission.Verdict.Applied a -> Optional.of(a.record());
            case RecordAdmission.Verdict.Refused r -> {
                if (warned.add(raw)) {
                    LOG.warnf("not applying %s", r);
                }
                yield Optional.empty();
            }
        };
    }

    private RecordAdmission.Verdict admit(String raw) {
        SignedRotationRecord signed;
        JwtRotationRecord record;
        try {
            signed = SignedRotationRecord.read(raw);
            record = JwtRotationRecord.parse(signed.payload());
        } catch (IllegalArgumentException e) {
            return new RecordAdmission.Verdict.Refused(RecordAdmission.Reason.MALFORMED, e.getMessage());
        }
        return RecordAdmission.decide(identity.trustDomain(), identity.gateway(),
                identity.verifier().verifyEstablished(signed.chain()), signed.signatureValid(), record,
                keys.progress().applied(), identity.skew(), clock.instant());
    }

    private synchronized void apply() throws IOException {
        Optional<String> raw = channel.read();
        if (raw.isEmpty()) {
            return;
        }
        if (!(admit(raw.get()) instanceof RecordAdmission.Verdict.Apply a)) {
            genuine(raw.get()); // logs a refusal once
            return;
        }
        JwtRotationRecord record = a.record();
        for (int step = 0; step < 8; step++) {
            RotationPlan.Action action = RotationPlan.next(keys.progress(), keys.ring(), record,
                    kid -> readiness.apply(kid) instanceof JwtKeyReadiness.Verdict.NotYet n
                            ? Optional.of(n.describe()) : Optional.empty(), clock.instant());
            switch (action) {
                case RotationPlan.Action.Done d -> {
                    return;
                }
                case RotationPlan.Action.Prepare p -> keys.prepare();
                case RotationPlan.Action.Activate act -> keys.activate(act.keyGeneration());
                case RotationPlan.Action.Retire r -> keys.retire(r.kids());
                case RotationPlan.Action.MarkApplied m -> {
                    keys.markApplied(m.generation());
                    LOG.infof("JWT rotation step %s (generation %d) applied by replica %s: active %s%s",
                            record.step().label(), record.generation(), keys.replicaName(),
                            keys.ring().active().keyId(), keys.ring().next().map(k -> ", next " + k.keyId())
                                    .orElse(""));
                    return;
                }
                case RotationPlan.Action.Wait w -> {
                    keys.pending(w.reason());
                    return;
                }
            }
        }
    }

    private void applyQuietly() {
        if (worker.isShutdown() || !channel.open()) {
            return;
        }
        try {
            apply();
        } catch (IOException | RuntimeException e) {
            // The next tick tries again; the replica keeps signing with the keys it has.
            LOG.warnf("applying the cluster's JWT rotation step failed: %s; retrying in %d ms", e.toString(),
                    TICK.toMillis());
        }
    }

    @PreDestroy
    void stop() {
        worker.shutdownNow();
        channel.close();
    }
}
