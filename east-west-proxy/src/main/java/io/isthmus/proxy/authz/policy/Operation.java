package io.isthmus.proxy.authz.policy;

import java.util.List;
import java.util.Set;

/**
 * {@code rules[].to[].operation}: every non-empty field must match (AND), any value within a field (OR), none
 * of a {@code not*} field. Methods and paths are HTTP-only: for L4 (TCP) requests they are unknown, see
 * {@link PolicySet} for how unknown attributes are treated. Paths are matched without the query string; hosts
 * case-insensitively against the destination's mesh name.
 */
public record Operation(List<StringMatch> methods, List<StringMatch> notMethods, List<StringMatch> paths,
        List<StringMatch> notPaths, Set<Integer> ports, Set<Integer> notPorts, List<StringMatch> hosts,
        List<StringMatch> notHosts) {
    public Operation {
        methods = List.copyOf(methods);
        notMethods = List.copyOf(notMethods);
        paths = List.copyOf(paths);
        notPaths = List.copyOf(notPaths);
        ports = Set.copyOf(ports);
        notPorts = Set.copyOf(notPorts);
        hosts = List.copyOf(hosts);
        notHosts = List.copyOf(notHosts);
    }
}
