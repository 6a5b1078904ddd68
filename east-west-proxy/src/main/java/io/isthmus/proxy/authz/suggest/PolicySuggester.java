package io.isthmus.proxy.authz.suggest;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

import io.isthmus.proxy.authz.audit.DecisionRecord;
import io.isthmus.proxy.authz.audit.RecordSelection;
import io.isthmus.proxy.authz.policy.PolicyParser;

/**
 * Builds least-privilege ALLOW policies from decision-log records ({@code isthmus authz suggest}). It takes the
 * requests that went through (observe mode makes every request go through), in the time window and namespace
 * asked for, and keeps, per destination service: the callers ({@link Callers}: exact, or grouped into namespace or
 * trust-domain wildcards above {@link Options#groupThreshold()}), and per caller the TCP ports and, per HTTP port,
 * the methods and generalized paths ({@link PathGeneralizer}, {@link PathTrie}). Requests that were denied are left
 * out: a suggestion never allows what the policies in force refused.
 *
 * <p>Memory is bounded by {@link Options#maxEntries()} entries (see {@link Budget}) whatever the logs hold; a
 * request that does not fit is counted and the suggestion says it is incomplete. Not thread-safe: feed it from one
 * thread, then call {@link #suggestion()}.
 */
public final class PolicySuggester {
    /**
     * Distinct identities of one namespace (or namespaces of one trust domain) seen calling a service before they
     * are grouped into a wildcard. Five: a wildcard admits identities never seen, so it is used only where the
     * namespace (trust domain) itself is plainly the caller, as with a shared service called by most of a team's
     * workloads; a handful of callers stays exact and reviewable.
     */
    public static final int DEFAULT_GROUP_THRESHOLD = 5;
    private static final List<String> METHODS = PolicyParser.httpMethods();

    /**
     * @param selection      which records count ({@code --since}, {@code --namespace})
     * @param groupThreshold more distinct identities (namespaces) than this become a wildcard
     * @param maxEntries     the memory bound, see {@link Budget}
     */
    public record Options(RecordSelection selection, int groupThreshold, long maxEntries) {
        public Options {
            Objects.requireNonNull(selection, "selection");
            if (groupThreshold < 1) {
                throw new IllegalArgumentException("the grouping threshold must be at least 1, got " + groupThreshold);
            }
        }

        public static Options defaults() {
            return new Options(RecordSelection.ALL, DEFAULT_GROUP_THRESHOLD, Budget.DEFAULT_LIMIT);
        }
    }

    private final Options options;
    private final Budget budget;
    private final Map<String, Callers> services = new HashMap<>();
    private long read;
    private long used;
    private long denied;
    private final Map<RecordSelection.LeftOut, Long> leftOut = new EnumMap<>(RecordSelection.LeftOut.class);
    private long unexpressible;
    private long overBudget;
    private Instant first;
    private Instant last;

    public PolicySuggester(Options options) {
        this.options = Objects.requireNonNull(options, "options");
        this.budget = new Budget(options.maxEntries());
    }

    public Budget budget() {
        return budget;
    }

    /** Takes one record into account (or counts why it is left out). */
    public void accept(DecisionRecord r) {
        read++;
        Optional<RecordSelection.LeftOut> out = options.selection().leftOut(r);
        if (out.isPresent()) {
            leftOut.merge(out.get(), 1L, Long::sum);
            return;
        }
        if (!r.served()) {
            denied++;
            return;
        }
        int method = r.method().map(METHODS::indexOf).orElse(0);
        if (method < 0) {
            unexpressible++;
            return;
        }
        String key = r.destination().namespace() + "/" + r.destination().service();
        Callers callers = services.get(key);
        if (callers == null) {
            if (!budget.tryTake(1)) {
                overBudget++;
                return;
            }
            callers = new Callers(options.groupThreshold(), budget);
            services.put(key, callers);
        }
        Optional<Access> access = callers.accessFor(r.caller());
        boolean ok = access.isPresent() && (r.tcp() ? access.get().tcp(r.port())
                : access.get().http(r.port(), 1 << method, PathGeneralizer.generalize(r.path().orElseThrow()),
                        r.path().get()));
        if (!ok) {
            overBudget++;
            return;
        }
        used++;
        if (first == null || r.time().isBefore(first)) {
            first = r.time();
        }
        if (last == null || r.time().isAfter(last)) {
            last = r.time();
        }
    }

    /** The policies for what was accepted so far. Deterministic: sorted throughout. */
    public Suggestion suggestion() {
        List<Suggestion.ServicePolicy> policies = new ArrayList<>();
        Map<String, NoteBuilder> notes = new TreeMap<>();
        for (String key : new TreeSet<>(services.keySet())) {
            String namespace = key.substring(0, key.indexOf('/'));
            String service = key.substring(key.indexOf('/') + 1);
            policies.add(policy(namespace, service, services.get(key), notes));
        }
        List<String> warnings = new ArrayList<>();
        if (overBudget > 0) {
            warnings.add(overBudget + " requests did not fit the entry budget of " + budget.limit() + " (--max-entries):"
                    + " this suggestion is INCOMPLETE and would deny them; narrow --since or --namespace, or raise "
                    + "the budget");
        }
        if (unexpressible > 0) {
            warnings.add(unexpressible + " requests used HTTP methods a policy cannot name (only "
                    + String.join(", ", METHODS) + "): no rule allows them");
        }
        List<Suggestion.Note> noteList = notes.values().stream().map(NoteBuilder::build).toList();
        return new Suggestion(new Suggestion.Totals(read, used, denied, left(RecordSelection.LeftOut.REFUSED_BEFORE_POLICY),
                left(RecordSelection.LeftOut.BEFORE_WINDOW), left(RecordSelection.LeftOut.OTHER_NAMESPACE), unexpressible, overBudget, Optional.ofNullable(first), Optional.ofNullable(last), budget.peak(),
                budget.limit()), policies, noteList, warnings, options.groupThreshold());
    }

    private long left(RecordSelection.LeftOut why) {
        return leftOut.getOrDefault(why, 0L);
    }

    private Suggestion.ServicePolicy policy(String namespace, String service, Callers callers,
            Map<String, NoteBuilder> notes) {
        // Callers whose operations are the same share one rule.
        Map<String, List<Suggestion.From>> fromBySignature = new LinkedHashMap<>();
        Map<String, List<Suggestion.To>> toBySignature = new HashMap<>();
        long total = 0;
        for (Map.Entry<PrincipalKey, Access> e : callers.keys().entrySet()) {
            Access a = e.getValue();
            total += a.requests;
            List<Suggestion.To> ops = operations(service + "." + namespace, a, notes);
            String signature = signature(ops);
            fromBySignature.computeIfAbsent(signature, k -> new ArrayList<>())
                    .add(new Suggestion.From(e.getKey(), a.requests, grouping(e.getKey(), callers.threshold())));
            toBySignature.merge(signature, ops, PolicySuggester::sumCounts);
        }
        List<Suggestion.SuggestedRule> rules = new ArrayList<>();
        fromBySignature.forEach((sig, from) -> rules.add(new Suggestion.SuggestedRule(from, toBySignature.get(sig),
                from.stream().mapToLong(Suggestion.From::requests).sum())));
        rules.sort(Comparator.comparing(r -> r.from().get(0).key()));
        return new Suggestion.ServicePolicy(namespace, service, total, rules);
    }

    private static String grouping(PrincipalKey key, int threshold) {
        return switch (key) {
            case PrincipalKey.Exact x -> "";
            case PrincipalKey.Namespace n -> "namespace wildcard: more than " + threshold
                    + " identities of namespace " + n.namespace() + " were seen";
            case PrincipalKey.Domain d -> "trust-domain wildcard: more than " + threshold
                    + " namespaces of " + d.trustDomain().name() + " were seen";
        };
    }

    /** The operations of one caller: its TCP ports first, then HTTP grouped by method set, merged across ports. */
    private static List<Suggestion.To> operations(String service, Access a, Map<String, NoteBuilder> notes) {
        List<Suggestion.To> out = new ArrayList<>();
        long coveredHttp = 0;
        for (Map.Entry<Integer, PathTrie> e : a.http.entrySet()) {
            if (a.tcp.containsKey(e.getKey())) {
                coveredHttp += e.getValue().leaves().stream().mapToLong(PathTrie.Leaf::requests).sum();
            }
        }
        if (!a.tcp.isEmpty()) {
            long n = a.tcp.values().stream().mapToLong(Long::longValue).sum();
            out.add(new Suggestion.To(List.copyOf(a.tcp.keySet()), List.of(), List.of(), n + coveredHttp,
                    coveredHttp == 0 ? "" : "counts the HTTP requests on these ports too: TCP access to a port "
                            + "covers any HTTP on it"));
        }
        // (methods, templates) -> ports and counts, so identical HTTP operations on several ports become one.
        Map<String, HttpOp> http = new TreeMap<>();
        for (Map.Entry<Integer, PathTrie> e : a.http.entrySet()) {
            int port = e.getKey();
            List<PathTrie.Leaf> leaves = e.getValue().leaves();
            for (PathTrie.Leaf l : leaves) {
                if (l.generalizations() != 0) {
                    notes.computeIfAbsent(service + " " + l.template(), k -> new NoteBuilder(service, l.template()))
                            .add(l);
                }
            }
            if (a.tcp.containsKey(port)) {
                continue;
            }
            Map<Integer, List<PathTrie.Leaf>> byMethods = new TreeMap<>();
            for (PathTrie.Leaf l : leaves) {
                byMethods.computeIfAbsent(l.methods(), k -> new ArrayList<>()).add(l);
            }
            byMethods.forEach((mask, group) -> {
                List<PathTrie.Leaf> kept = uncovered(group);
                List<String> methods = methods(mask);
                String sig = String.join(",", methods) + " " + kept.stream().map(PathTrie.Leaf::template).toList();
                HttpOp op = http.computeIfAbsent(sig, k -> new HttpOp(methods));
                op.ports.add(port);
                for (PathTrie.Leaf l : group) {
                    // A covered template's requests count towards the template that covers it.
                    PathTrie.Leaf into = kept.contains(l) ? l : kept.stream()
                            .filter(k -> PathTrie.covers(k.template(), l.template())).findFirst().orElseThrow();
                    op.paths.merge(into.template(), l.requests(), Long::sum);
                }
            });
        }
        http.values().stream()
                .sorted(Comparator.comparing((HttpOp o) -> o.ports.first()).thenComparing(o -> o.methods.toString()))
                .forEach(o -> out.add(o.build()));
        return out;
    }

    /** The templates of {@code group} that no other template of it matches (a {@code {*}} covers a literal). */
    private static List<PathTrie.Leaf> uncovered(List<PathTrie.Leaf> group) {
        List<PathTrie.Leaf> kept = new ArrayList<>();
        for (PathTrie.Leaf l : group) {
            boolean covered = false;
            for (PathTrie.Leaf other : group) {
                if (other != l && PathTrie.covers(other.template(), l.template())) {
                    covered = true;
                    break;
                }
            }
            if (!covered) {
                kept.add(l);
            }
        }
        return kept;
    }

    private static List<String> methods(int mask) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < METHODS.size(); i++) {
            if ((mask & (1 << i)) != 0) {
                out.add(METHODS.get(i));
            }
        }
        return out;
    }

    private static String signature(List<Suggestion.To> ops) {
        StringBuilder b = new StringBuilder();
        for (Suggestion.To o : ops) {
            b.append(o.ports()).append(o.methods()).append(o.paths().stream().map(Suggestion.PathCount::template)
                    .toList()).append(';');
        }
        return b.toString();
    }

    /** Two callers' operations of the same signature, their counts added. */
    private static List<Suggestion.To> sumCounts(List<Suggestion.To> a, List<Suggestion.To> b) {
        List<Suggestion.To> out = new ArrayList<>(a.size());
        for (int i = 0; i < a.size(); i++) {
            Suggestion.To x = a.get(i);
            Suggestion.To y = b.get(i);
            List<Suggestion.PathCount> paths = new ArrayList<>();
            for (int j = 0; j < x.paths().size(); j++) {
                paths.add(new Suggestion.PathCount(x.paths().get(j).template(),
                        x.paths().get(j).requests() + y.paths().get(j).requests()));
            }
            String note = x.note().isEmpty() ? y.note() : x.note();
            out.add(new Suggestion.To(x.ports(), x.methods(), paths, x.requests() + y.requests(), note));
        }
        return out;
    }

    private static final class HttpOp {
        final List<String> methods;
        final TreeSet<Integer> ports = new TreeSet<>();
        final TreeMap<String, Long> paths = new TreeMap<>();

        HttpOp(List<String> methods) {
            this.methods = methods;
        }

        Suggestion.To build() {
            List<Suggestion.PathCount> p = new ArrayList<>();
            paths.forEach((t, n) -> p.add(new Suggestion.PathCount(t, n)));
            return new Suggestion.To(List.copyOf(ports), methods, p, paths.values().stream().mapToLong(Long::longValue)
                    .sum(), "");
        }
    }

    private static final class NoteBuilder {
        final String service;
        final String template;
        final EnumSet<Generalization> kinds = EnumSet.noneOf(Generalization.class);
        String first;
        String last;
        long requests;

        NoteBuilder(String service, String template) {
            this.service = service;
            this.template = template;
        }

        void add(PathTrie.Leaf l) {
            for (Generalization g : Generalization.values()) {
                if ((l.generalizations() & (1 << g.ordinal())) != 0) {
                    kinds.add(g);
                }
            }
            requests += l.requests();
            if (first == null || l.firstExample().compareTo(first) < 0) {
                first = l.firstExample();
            }
            if (last == null || l.lastExample().compareTo(last) > 0) {
                last = l.lastExample();
            }
        }

        Suggestion.Note build() {
            return new Suggestion.Note(service, template, kinds, first, last, requests);
        }
    }
}
