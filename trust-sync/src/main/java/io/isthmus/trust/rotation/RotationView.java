package io.isthmus.trust.rotation;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import io.isthmus.trust.status.TrustStatus;

/**
 * A read-only picture of this cluster's rotation, for the admin API, the CLI, health and metrics.
 *
 * @param active the signing CA now, and {@code activeRemaining} the fraction of its lifetime left
 * @param expiryWarning set when {@code activeRemaining} is below the configured fraction: what to do about it
 * @param coverage which peers hold the new CA, as last checked (during {@code wait}), and when
 */
public record RotationView(RotationPhase phase, Optional<Instant> since, Map<RotationPhase, Instant> reached,
        TrustStatus.AuthorityInfo active, double activeRemaining, Optional<String> expiryWarning,
        Optional<String> nextSerial, Optional<String> previousSerial, long publishedSequence,
        Optional<Instant> retireAt, boolean automatic, Optional<PeerCoverage> coverage, Optional<Instant> coverageAt,
        Optional<String> lastError) {

    public RotationView {
        Objects.requireNonNull(phase, "phase");
        reached = Map.copyOf(reached);
        Objects.requireNonNull(active, "active");
    }

    /** How long each step of the current rotation took, in runbook order ({@code prepare 0.1s, sign 3.2s, ...}). */
    public List<String> stepDurations() {
        List<String> out = new ArrayList<>();
        RotationPhase[] order = RotationPhase.values();
        for (int i = 1; i < order.length; i++) {
            Instant from = reached.get(order[i - 1]);
            Instant to = reached.get(order[i]);
            if (from != null && to != null) {
                out.add(order[i - 1].step() + "->" + order[i].label() + " " + Duration.between(from, to).toMillis() + "ms");
            }
        }
        return out;
    }

    public TrustStatus.RotationSummary summary() {
        return new TrustStatus.RotationSummary(phase.label(), phase.step(), nextSerial, since);
    }
}
