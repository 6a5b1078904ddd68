package io.isthmus.proxy.authz;

import java.util.List;
import java.util.Objects;

/**
 * The verdict of the destination's policy. {@code auditMatches} names the AUDIT rules that matched (they are
 * logged, never enforced). A denial carries a stable {@link DenyReason} for the 403 body, metrics and audit log.
 */
public sealed interface Decision {
    List<String> auditMatches();

    record Allowed(String policy, String rule, List<String> auditMatches) implements Decision {
        public Allowed {
            Objects.requireNonNull(policy, "policy");
            Objects.requireNonNull(rule, "rule");
            auditMatches = List.copyOf(auditMatches);
        }
    }

    /** {@code policy}/{@code rule} name the DENY rule that matched, or are empty for default deny. */
    record Denied(DenyReason reason, String policy, String rule, String detail, List<String> auditMatches)
            implements Decision {
        public Denied {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(policy, "policy");
            Objects.requireNonNull(rule, "rule");
            Objects.requireNonNull(detail, "detail");
            auditMatches = List.copyOf(auditMatches);
        }
    }

    default boolean allowed() {
        return this instanceof Allowed;
    }
}
