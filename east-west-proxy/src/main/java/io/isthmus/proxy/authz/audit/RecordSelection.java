package io.isthmus.proxy.authz.audit;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Which decision-log records a suggestion or a simulation takes: those logged at or after {@code notBefore}
 * ({@code --since}), to services of {@code namespace} ({@code --namespace}), and decided by policy (a refusal made
 * before policy, about who the caller is, says nothing a policy could change). Pure.
 */
public record RecordSelection(Optional<Instant> notBefore, Optional<String> namespace) {
    public static final RecordSelection ALL = new RecordSelection(Optional.empty(), Optional.empty());

    /** Why a record is left out. */
    public enum LeftOut { BEFORE_WINDOW, OTHER_NAMESPACE, REFUSED_BEFORE_POLICY }

    public RecordSelection {
        Objects.requireNonNull(notBefore, "notBefore");
        Objects.requireNonNull(namespace, "namespace");
    }

    /** Empty when {@code r} is taken. */
    public Optional<LeftOut> leftOut(DecisionRecord r) {
        if (notBefore.isPresent() && r.time().isBefore(notBefore.get())) {
            return Optional.of(LeftOut.BEFORE_WINDOW);
        }
        if (namespace.isPresent() && !namespace.get().equals(r.destination().namespace())) {
            return Optional.of(LeftOut.OTHER_NAMESPACE);
        }
        if (r.refusedBeforePolicy()) {
            return Optional.of(LeftOut.REFUSED_BEFORE_POLICY);
        }
        return Optional.empty();
    }
}
