package io.isthmus.proxy.authz.simulate;

import java.util.List;

/**
 * What replaying recorded requests against a candidate policy set changes ({@code isthmus authz simulate}).
 * {@code newlyDenied} are requests that went through and the candidate would refuse (they would break), grouped by
 * caller, destination and the candidate's deciding rule; {@code newlyAllowed} are requests that policy refused and
 * the candidate would let through. Sorted; deterministic.
 */
public record SimulationReport(long read, long replayed, long unchangedAllowed, long unchangedDenied,
        long refusedBeforePolicy, long outsideWindow, long otherNamespace, List<Group> newlyDenied,
        List<Group> newlyAllowed, List<String> notes) {
    public SimulationReport {
        newlyDenied = List.copyOf(newlyDenied);
        newlyAllowed = List.copyOf(newlyAllowed);
        notes = List.copyOf(notes);
    }

    /**
     * Requests of one caller to one destination that change the same way: {@code now} is the candidate's verdict
     * ({@code deny no-matching-allow}, {@code allow billing/x rules[0]}), {@code before} what was recorded.
     * {@code examples} are a few distinct operations ({@code GET /orders/{*}}, {@code TCP 5432}).
     */
    public record Group(String caller, String destination, String now, String before, long requests,
            List<String> examples) {
        public Group {
            examples = List.copyOf(examples);
        }
    }

    public long newlyDeniedRequests() {
        return newlyDenied.stream().mapToLong(Group::requests).sum();
    }

    public long newlyAllowedRequests() {
        return newlyAllowed.stream().mapToLong(Group::requests).sum();
    }

    /** Whether anything that went through would be denied: a policy change that breaks observed traffic. */
    public boolean breaksTraffic() {
        return !newlyDenied.isEmpty();
    }
}
