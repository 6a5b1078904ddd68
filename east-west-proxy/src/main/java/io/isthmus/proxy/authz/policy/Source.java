package io.isthmus.proxy.authz.policy;

import java.util.List;
import java.util.Optional;

/**
 * {@code rules[].from[].source}: every non-empty field must match (AND); within a field any value may match (OR);
 * a {@code not*} field must match none of its values.
 *
 * <p>Principals are matched against the caller's SPIFFE ID: a pattern starting with {@code spiffe://} against the
 * full ID, any other pattern against the ID without the scheme, as Istio writes them
 * ({@code cluster.local/ns/default/sa/sleep}). The source namespace is the {@code <ns>} of an ID shaped
 * {@code /ns/<ns>/sa/<sa>}, or of an ID under one (a VM workload's {@code /ns/<ns>/sa/<vm>/<workload>}); an ID of
 * another shape ({@code /ns/<ns>} alone, {@code /ns/<ns>/<other>}) has no namespace (see {@link #namespaceOf}).
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

    /**
     * The namespace of a SPIFFE ID's path: {@code <ns>} when the path is {@code /ns/<ns>/sa/<sa>} or lies under such
     * a path ({@code /ns/<ns>/sa/<sa>/...}, the IDs a VM agent issues to the workloads on its VM); empty for any other
     * shape. Only the first segments count: {@code /ns/x/sa/y/ns/shop/sa/z} is in {@code x}.
     */
    static Optional<String> namespaceOf(String idPath) {
        if (!idPath.startsWith("/ns/")) {
            return Optional.empty();
        }
        String[] segments = idPath.substring(1).split("/", 5);
        if (segments.length < 4 || segments[1].isEmpty() || !segments[2].equals("sa") || segments[3].isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(segments[1]);
    }
}
