package io.isthmus.proxy.authz.policy;

import java.util.List;

/**
 * {@code rules[].from[].source}: every non-empty field must match (AND); within a field any value may match (OR);
 * a {@code not*} field must match none of its values.
 *
 * <p>Principals are matched against the caller's SPIFFE ID: a pattern starting with {@code spiffe://} against the
 * full ID, any other pattern against the ID without the scheme, as Istio writes them
 * ({@code cluster.local/ns/default/sa/sleep}). The source namespace is the {@code <ns>} of an ID shaped
 * {@code /ns/<ns>/sa/<sa>}; an ID of another shape has no namespace.
 */
public record Source(List<StringMatch> principals, List<StringMatch> notPrincipals,
        List<StringMatch> trustDomains, List<StringMatch> notTrustDomains,
        List<StringMatch> namespaces, List<StringMatch> notNamespaces) {
    public Source {
        principals = List.copyOf(principals);
        notPrincipals = List.copyOf(notPrincipals);
        trustDomains = List.copyOf(trustDomains);
        notTrustDomains = List.copyOf(notTrustDomains);
        namespaces = List.copyOf(namespaces);
        notNamespaces = List.copyOf(notNamespaces);
    }
}
