package io.isthmus.proxy.authz.suggest;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Least-privilege ALLOW policies suggested from observed traffic, one per destination service, with the counts
 * behind every part and the generalizations a person should review. Everything is sorted, so the same logs give
 * the same suggestion. {@link SuggestionYaml} writes it.
 */
public record Suggestion(Totals totals, List<ServicePolicy> policies, List<Note> generalizations,
        List<String> warnings, int groupThreshold) {
    public Suggestion {
        Objects.requireNonNull(totals, "totals");
        policies = List.copyOf(policies);
        generalizations = List.copyOf(generalizations);
        warnings = List.copyOf(warnings);
    }

    /**
     * What the suggestion was built from: {@code used} requests (allowed, in the window and namespace), the ones
     * left out and why, the time span of the used ones, and the entries the state held at most.
     */
    public record Totals(long read, long used, long denied, long refusedBeforePolicy, long outsideWindow,
            long otherNamespace, long unexpressibleMethod, long overBudget, Optional<Instant> first,
            Optional<Instant> last, long entriesPeak, long entriesLimit) {
    }

    /** The ALLOW policy of one service ({@code namespace/suggested-<service>}). */
    public record ServicePolicy(String namespace, String service, long requests, List<SuggestedRule> rules) {
        public ServicePolicy {
            rules = List.copyOf(rules);
        }

        public String name() {
            return "suggested-" + service;
        }
    }

    /** Callers that did the same things share one rule. */
    public record SuggestedRule(List<From> from, List<To> to, long requests) {
        public SuggestedRule {
            from = List.copyOf(from);
            to = List.copyOf(to);
        }
    }

    /** A caller (or group) with its requests; {@code grouping} says why it is a wildcard (empty when exact). */
    public record From(PrincipalKey key, long requests, String grouping) {
    }

    /**
     * An operation: HTTP (methods and paths on ports) or TCP (ports only, which also covers any HTTP on them: a
     * caller with a TCP tunnel to a port can send anything over it). {@code note} explains what it covers.
     */
    public record To(List<Integer> ports, List<String> methods, List<PathCount> paths, long requests, String note) {
        public To {
            ports = List.copyOf(ports);
            methods = List.copyOf(methods);
            paths = List.copyOf(paths);
        }

        public boolean tcp() {
            return methods.isEmpty();
        }
    }

    public record PathCount(String template, long requests) {
    }

    /**
     * A template that is not what was observed: {@code first}/{@code last} are the smallest and largest observed
     * paths it stands for, so a reviewer sees what the wildcard covered.
     */
    public record Note(String service, String template, Set<Generalization> kinds, String first, String last,
            long requests) {
        public Note {
            kinds = Set.copyOf(kinds);
        }
    }
}
