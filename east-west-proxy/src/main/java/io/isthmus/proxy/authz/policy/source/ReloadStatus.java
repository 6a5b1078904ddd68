package io.isthmus.proxy.authz.policy.source;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import io.isthmus.proxy.authz.policy.PolicyViolation;

/**
 * The state of a policy source after its last load attempt: how many policies are in force, when they were
 * loaded, and, if the latest attempt failed, why (the previous good policies stay in force).
 */
public record ReloadStatus(String source, int policies, Optional<Instant> lastSuccess, long successes, long failures,
        Optional<Instant> lastFailure, List<PolicyViolation> lastErrors) {
    public ReloadStatus {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(lastSuccess, "lastSuccess");
        Objects.requireNonNull(lastFailure, "lastFailure");
        lastErrors = List.copyOf(lastErrors);
    }

    public static ReloadStatus initial(String source) {
        return new ReloadStatus(source, 0, Optional.empty(), 0, 0, Optional.empty(), List.of());
    }

    /** True when the latest attempt failed: the policies in force are older than the source. */
    public boolean degraded() {
        return !lastErrors.isEmpty();
    }

    ReloadStatus succeeded(int count, Instant at) {
        return new ReloadStatus(source, count, Optional.of(at), successes + 1, failures, lastFailure, List.of());
    }

    /**
     * A load that put {@code count} policies in force while refusing some documents (sources that accept valid
     * documents individually, such as custom resources); {@code refused} lists why.
     */
    public ReloadStatus succeededWith(int count, Instant at, List<PolicyViolation> refused) {
        return new ReloadStatus(source, count, Optional.of(at), successes + 1,
                refused.isEmpty() ? failures : failures + 1, refused.isEmpty() ? lastFailure : Optional.of(at),
                refused);
    }

    ReloadStatus failed(List<PolicyViolation> errors, Instant at) {
        return new ReloadStatus(source, policies, lastSuccess, successes, failures + 1, Optional.of(at), errors);
    }
}
