package io.isthmus.trust.rotation;

import java.time.Duration;
import java.util.Objects;

/**
 * How this cluster rotates its intermediate.
 *
 * @param retireAfter longest lifetime of anything the active intermediate signs (the SVID TTLs): the old CA is
 *     retired this long (plus the clock skew) after the new one was activated, once the last SVID it signed expired
 * @param tick how often the clock-driven steps run (automatic publish/activate, retirement when due, file reloads)
 * @param peerStatusTimeout how long the {@code wait} check waits for each peer's status answer
 * @param agentRefresh how often VM agents are told to fetch bundles; a new CA must have been published at least
 *     this long before activation, so that agents verify SVIDs it signs
 * @param expiryWarningFraction readiness warns when the active intermediate has less than this fraction of its
 *     lifetime left (0 to 1)
 */
public record RotationSettings(Duration retireAfter, Duration tick, Duration peerStatusTimeout, Duration agentRefresh,
        double expiryWarningFraction) {

    public RotationSettings {
        Objects.requireNonNull(retireAfter, "retireAfter");
        Objects.requireNonNull(tick, "tick");
        Objects.requireNonNull(peerStatusTimeout, "peerStatusTimeout");
        Objects.requireNonNull(agentRefresh, "agentRefresh");
        if (retireAfter.isNegative() || tick.isNegative() || tick.isZero() || peerStatusTimeout.isNegative()
                || peerStatusTimeout.isZero() || agentRefresh.isNegative() || agentRefresh.isZero()) {
            throw new IllegalArgumentException("rotation durations must be positive: retire-after " + retireAfter
                    + ", tick " + tick + ", peer-status-timeout " + peerStatusTimeout + ", agent-refresh " + agentRefresh);
        }
        if (!(expiryWarningFraction >= 0 && expiryWarningFraction <= 1)) {
            throw new IllegalArgumentException("expiry warning fraction " + expiryWarningFraction
                    + " is outside [0, 1]; e.g. 0.2 warns with a fifth of the intermediate's life left");
        }
    }

    /** Defaults for an SVID lifetime of {@code svidTtl}. */
    public static RotationSettings defaults(Duration svidTtl) {
        return new RotationSettings(svidTtl, Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofMinutes(5), 0.2);
    }
}
