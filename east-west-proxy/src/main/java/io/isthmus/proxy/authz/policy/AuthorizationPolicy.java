package io.isthmus.proxy.authz.policy;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A validated {@code AuthorizationPolicy} ({@code security.isthmus.io/v1alpha1}), read like Istio's.
 *
 * <p>Scope: a policy in namespace {@code X} applies to the services of namespace {@code X}; a policy in the
 * configured root namespace applies to every namespace. A non-empty {@code selectorServices} narrows it to those
 * service names. An empty {@code rules} list matches nothing (an ALLOW policy without rules is Istio's
 * "allow-nothing"); one empty rule matches everything.
 *
 * <p>Two kinds of policy never decide a request themselves: a <b>mode policy</b> ({@code mode} present; no action,
 * no rules) sets the {@link PolicyMode} of its scope, and a <b>dry-run</b> policy (annotation
 * {@value #DRY_RUN_ANNOTATION}{@code : "true"}, or Istio's own {@value #ISTIO_DRY_RUN_ANNOTATION}{@code : "true"},
 * which means the same) is evaluated on every request and only logged and counted.
 *
 * @param origin where the policy came from, e.g. {@code file:/etc/isthmus/policies.yaml#2} or {@code crd}
 */
public record AuthorizationPolicy(PolicyId id, PolicyAction action, Set<String> selectorServices, List<Rule> rules,
        String origin, Optional<PolicyMode> mode, boolean dryRun) {
    public static final String API_VERSION = "security.isthmus.io/v1alpha1";
    public static final String KIND = "AuthorizationPolicy";
    public static final String DRY_RUN_ANNOTATION = "security.isthmus.io/dry-run";
    /** Istio's spelling of {@link #DRY_RUN_ANNOTATION}, read the same way (policies copied from Istio carry it). */
    public static final String ISTIO_DRY_RUN_ANNOTATION = "istio.io/dry-run";

    public AuthorizationPolicy {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(origin, "origin");
        Objects.requireNonNull(mode, "mode");
        selectorServices = Set.copyOf(selectorServices);
        rules = List.copyOf(rules);
        if (mode.isPresent() && (dryRun || !rules.isEmpty())) {
            throw new IllegalArgumentException("a mode policy has no rules and is never dry-run: " + id);
        }
    }

    /** An enforced ALLOW, DENY or AUDIT policy. */
    public AuthorizationPolicy(PolicyId id, PolicyAction action, Set<String> selectorServices, List<Rule> rules,
            String origin) {
        this(id, action, selectorServices, rules, origin, Optional.empty(), false);
    }

    /** A mode policy: sets the mode of {@code namespace} (or, with {@code services}, of those services). */
    public static AuthorizationPolicy mode(PolicyId id, Set<String> services, PolicyMode mode, String origin) {
        return new AuthorizationPolicy(id, PolicyAction.ALLOW, services, List.of(), origin, Optional.of(mode), false);
    }

    /** Whether this policy decides requests (neither a mode policy nor dry-run). */
    public boolean enforced() {
        return mode.isEmpty() && !dryRun;
    }

    /** Whether this policy governs {@code service} in {@code namespace}, given the mesh's root namespace. */
    public boolean appliesTo(String namespace, String service, String rootNamespace) {
        if (!id.namespace().equals(namespace) && !id.namespace().equals(rootNamespace)) {
            return false;
        }
        return selectorServices.isEmpty() || selectorServices.contains(service);
    }
}
