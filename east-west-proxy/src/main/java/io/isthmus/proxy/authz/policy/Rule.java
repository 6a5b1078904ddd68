package io.isthmus.proxy.authz.policy;

import java.util.List;

/**
 * One entry of {@code spec.rules}: it matches when any {@code from} entry matches and any {@code to} entry
 * matches; an empty list matches anything. The empty rule {@code {}} matches every request.
 */
public record Rule(List<Source> from, List<Operation> to) {
    public Rule {
        from = List.copyOf(from);
        to = List.copyOf(to);
    }
}
