package io.isthmus.proxy.authz.policy;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A validated {@code AuthorizationPolicy} ({@code security.isthmus.io/v1alpha1}), read like Istio's.
 *
 * <p>Scope: a policy in namespace {@code X} applies to the services of namespace {@code X}; a policy in the
 * configured root namespace applies to every namespace. A non-empty {@code selectorServices} narrows it to those
 * service names. An empty {@code rules} list matches nothing (an ALLOW policy without rules is Istio's
 * "allow-nothing"); one empty rule matches everything.
 *
 * @param origin where the policy came from, e.g. {@code file:/etc/isthmus/policies.yaml#2} or {@code crd}
 */
public record AuthorizationPolicy(PolicyId id, PolicyAction action, Set<String> selectorServices, List<Rule> rules,
        String origin) {
    public static final String API_VERSION = "security.isthmus.io/v1alpha1";
    public static final String KIND = "AuthorizationPolicy";

    public AuthorizationPolicy {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(origin, "origin");
        selectorServices = Set.copyOf(selectorServices);
        rules = List.copyOf(rules);
    }

    /** Whether this policy governs {@code service} in {@code namespace}, given the mesh's root namespace. */
    public boolean appliesTo(String namespace, String service, String rootNamespace) {
        if (!id.namespace().equals(namespace) && !id.namespace().equals(rootNamespace)) {
            return false;
        }
        return selectorServices.isEmpty() || selectorServices.contains(service);
    }
}
