package io.isthmus.trust.rotation;

import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The persisted state of this cluster's intermediate rotation: the commit record of every step. A step writes its
 * files first and this state last, so a crash before the state is written leaves the previous phase, whose step
 * is then simply done again (every step is idempotent).
 *
 * @param phase the last step completed
 * @param nextSerial the new CA's serial, once signed
 * @param previousSerial the CA being replaced (retired at the end)
 * @param activeSerial the serial of the credential in {@code active.*} when a rotation made it the signer; empty while
 *     the configured intermediate ({@code isthmus.ca.intermediate-*}) is the signer
 * @param publishedSequence the bundle sequence in which the new CA was published (0 before)
 * @param retireAt when the old CA may leave the bundle (set at activation)
 * @param automatic true when the rotation was started by a changed intermediate file: its steps then run by themselves
 * @param reached when each phase of the current rotation was reached (for the status and the phase times)
 * @param usedSerials every intermediate this cluster has retired: a configured file still holding one of them is
 *     stale, not a new rotation
 */
public record RotationState(RotationPhase phase, Optional<String> nextSerial, Optional<String> previousSerial,
        Optional<String> activeSerial, long publishedSequence, Optional<Instant> retireAt, boolean automatic,
        Map<RotationPhase, Instant> reached, List<String> usedSerials) {

    public RotationState {
        Objects.requireNonNull(phase, "phase");
        Objects.requireNonNull(nextSerial, "nextSerial");
        Objects.requireNonNull(previousSerial, "previousSerial");
        Objects.requireNonNull(activeSerial, "activeSerial");
        Objects.requireNonNull(retireAt, "retireAt");
        reached = reached.isEmpty() ? Map.of() : Map.copyOf(new EnumMap<>(reached));
        usedSerials = List.copyOf(usedSerials);
        if (publishedSequence < 0) {
            throw new IllegalArgumentException("published sequence must not be negative: " + publishedSequence);
        }
        if ((phase == RotationPhase.SIGNED || phase == RotationPhase.PUBLISHED || phase == RotationPhase.ACTIVATED)
                && nextSerial.isEmpty()) {
            throw new IllegalArgumentException("a rotation in phase " + phase.label() + " needs the new CA's serial");
        }
        if (phase == RotationPhase.ACTIVATED && (retireAt.isEmpty() || activeSerial.isEmpty())) {
            throw new IllegalArgumentException("an activated rotation needs its retirement time and active serial");
        }
    }

    public static RotationState initial() {
        return new RotationState(RotationPhase.IDLE, Optional.empty(), Optional.empty(), Optional.empty(), 0,
                Optional.empty(), false, Map.of(), List.of());
    }

    /** A new rotation replacing {@code previous}, started at {@code now} (by {@code prepare} or a submitted credential). */
    RotationState start(RotationPhase first, String previous, boolean automaticSteps, Instant now) {
        return new RotationState(first, Optional.empty(), Optional.of(previous), activeSerial, 0, Optional.empty(),
                automaticSteps, Map.of(first, now), usedSerials);
    }

    RotationState signed(String serial, Instant now) {
        return next(RotationPhase.SIGNED, now, Optional.of(serial), activeSerial, publishedSequence, retireAt);
    }

    RotationState published(long sequence, Instant now) {
        return next(RotationPhase.PUBLISHED, now, nextSerial, activeSerial, sequence, retireAt);
    }

    RotationState activated(Instant retireTime, Instant now) {
        return next(RotationPhase.ACTIVATED, now, nextSerial, nextSerial, publishedSequence, Optional.of(retireTime));
    }

    RotationState retired(Instant now) {
        List<String> used = new ArrayList<>(usedSerials);
        previousSerial.filter(s -> !used.contains(s)).ifPresent(used::add);
        return new RotationState(RotationPhase.RETIRED, nextSerial, previousSerial, activeSerial, publishedSequence,
                retireAt, automatic, with(reached, RotationPhase.RETIRED, now), used);
    }

    /** The same state, naming {@code serial} as the signer in force (recorded on a gateway's first start). */
    RotationState signerRecorded(String serial) {
        return new RotationState(phase, nextSerial, previousSerial, Optional.of(serial), publishedSequence, retireAt,
                automatic, reached, usedSerials);
    }

    /** Back to idle without a change of signer (an aborted rotation); the new CA, if signed, is remembered as used. */
    RotationState aborted() {
        List<String> used = new ArrayList<>(usedSerials);
        nextSerial.filter(s -> !used.contains(s) && !activeSerial.equals(Optional.of(s))).ifPresent(used::add);
        return new RotationState(RotationPhase.IDLE, Optional.empty(), Optional.empty(), activeSerial, 0,
                Optional.empty(), false, Map.of(), used);
    }

    private RotationState next(RotationPhase to, Instant now, Optional<String> nextSerial, Optional<String> active,
            long sequence, Optional<Instant> retire) {
        return new RotationState(to, nextSerial, previousSerial, active, sequence, retire, automatic,
                with(reached, to, now), usedSerials);
    }

    private static Map<RotationPhase, Instant> with(Map<RotationPhase, Instant> m, RotationPhase p, Instant t) {
        Map<RotationPhase, Instant> copy = new EnumMap<>(RotationPhase.class);
        copy.putAll(m);
        copy.put(p, t);
        return copy;
    }

    /** When the current phase was reached. */
    public Optional<Instant> since() {
        return Optional.ofNullable(reached.get(phase));
    }
}
