package io.isthmus.proxy.authz;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The verdict of the destination's policy. {@code auditMatches} names the AUDIT rules that matched (they are
 * logged, never enforced). A denial carries a stable {@link DenyReason} for the 403 body, metrics and audit log.
 *
 * <p>The sealed type is the <b>enforced</b> outcome: what the ingress does. Two would-be verdicts ride along, both
 * only logged and counted, never acted on:
 * <ul>
 * <li>{@link #observed()}: the destination is in observe mode, so the request is allowed (naming the mode policy
 * that put it there, rule {@value #OBSERVE_RULE}) and this is what the policies in force would have decided;
 * <li>{@link #dryRun()}: what the dry-run policies that apply to the destination decide, evaluated on their own as
 * Istio evaluates its shadow rules.
 * </ul>
 * A would-be verdict is itself a plain decision: it carries no would-be verdicts of its own.
 */
public sealed interface Decision {
    /** The rule an observe-mode {@link Allowed} names: the mode policy's {@code spec.mode}. */
    String OBSERVE_RULE = "spec.mode";

    List<String> auditMatches();

    /** In observe mode, what the policies in force would have decided; empty when they are enforced. */
    Optional<Decision> observed();

    /** What the dry-run policies of the destination decide; empty when none applies. */
    Optional<Decision> dryRun();

    /** The deciding policy ({@code namespace/name}), empty for default deny and refusals before policy. */
    String policy();

    /** The deciding rule ({@code rules[0]}), empty when {@link #policy()} is. */
    String rule();

    record Allowed(String policy, String rule, List<String> auditMatches, Optional<Decision> observed,
            Optional<Decision> dryRun) implements Decision {
        public Allowed {
            Objects.requireNonNull(policy, "policy");
            Objects.requireNonNull(rule, "rule");
            auditMatches = List.copyOf(auditMatches);
            plain(observed, "observed");
            plain(dryRun, "dryRun");
        }

        public Allowed(String policy, String rule, List<String> auditMatches) {
            this(policy, rule, auditMatches, Optional.empty(), Optional.empty());
        }
    }

    /** {@code policy}/{@code rule} name the DENY rule that matched, or are empty for default deny. */
    record Denied(DenyReason reason, String policy, String rule, String detail, List<String> auditMatches,
            Optional<Decision> dryRun) implements Decision {
        public Denied {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(policy, "policy");
            Objects.requireNonNull(rule, "rule");
            Objects.requireNonNull(detail, "detail");
            auditMatches = List.copyOf(auditMatches);
            plain(dryRun, "dryRun");
        }

        public Denied(DenyReason reason, String policy, String rule, String detail, List<String> auditMatches) {
            this(reason, policy, rule, detail, auditMatches, Optional.empty());
        }

        /** Observe mode never denies: a denial is always enforced. */
        @Override
        public Optional<Decision> observed() {
            return Optional.empty();
        }
    }

    default boolean allowed() {
        return this instanceof Allowed;
    }

    /** Whether the destination was in observe mode: allowed whatever the policies say. */
    default boolean observing() {
        return observed().isPresent();
    }

    /** The same enforced outcome with {@code dryRun} as its dry-run verdict. */
    default Decision withDryRun(Optional<Decision> dryRun) {
        return switch (this) {
            case Allowed a -> new Allowed(a.policy(), a.rule(), a.auditMatches(), a.observed(), dryRun);
            case Denied d -> new Denied(d.reason(), d.policy(), d.rule(), d.detail(), d.auditMatches(), dryRun);
        };
    }

    private static void plain(Optional<Decision> verdict, String name) {
        Objects.requireNonNull(verdict, name);
        verdict.ifPresent(v -> {
            if (v.observed().isPresent() || v.dryRun().isPresent()) {
                throw new IllegalArgumentException(name + " must be a plain verdict, without would-be verdicts");
            }
        });
    }
}
