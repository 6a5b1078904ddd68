package io.isthmus.proxy.authz.policy.source;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import io.isthmus.proxy.authz.policy.AuthorizationPolicy;
import io.isthmus.proxy.authz.policy.PolicyAuthorizer;
import io.isthmus.proxy.authz.policy.PolicySet;

/**
 * Merges the policies of several named sources (the YAML file, the Kubernetes custom resources) into one
 * {@link PolicySet} and swaps it into the {@link PolicyAuthorizer}. A source replaces all of its own policies at
 * once; the others are untouched. When two sources define the same {@code namespace/name}, both are kept and
 * evaluated (a DENY in either still denies); the origin tells them apart in the audit log.
 *
 * <p>Thread-safe: updates are serialized; readers of the authorizer never wait.
 */
public final class PolicyStore {
    private final String rootNamespace;
    private final PolicyAuthorizer authorizer;
    private final Map<String, List<AuthorizationPolicy>> bySource = new LinkedHashMap<>();

    public PolicyStore(String rootNamespace) {
        this.rootNamespace = Objects.requireNonNull(rootNamespace, "rootNamespace");
        this.authorizer = new PolicyAuthorizer(PolicySet.empty(rootNamespace));
    }

    public PolicyAuthorizer authorizer() {
        return authorizer;
    }

    public String rootNamespace() {
        return rootNamespace;
    }

    /** Replaces every policy of {@code source} with {@code policies} and publishes the merged set. */
    public synchronized PolicySet update(String source, Collection<AuthorizationPolicy> policies) {
        bySource.put(source, List.copyOf(policies));
        List<AuthorizationPolicy> all = new ArrayList<>();
        bySource.values().forEach(all::addAll);
        PolicySet next = PolicySet.of(rootNamespace, all);
        authorizer.replace(next);
        return next;
    }

    /** The policies {@code source} last published. */
    public synchronized List<AuthorizationPolicy> policiesOf(String source) {
        return bySource.getOrDefault(source, List.of());
    }
}
