package io.isthmus.proxy.authz.simulate;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.audit.DecisionRecord;
import io.isthmus.proxy.authz.audit.JsonDecisionLog;
import io.isthmus.proxy.authz.audit.RecordSelection;
import io.isthmus.proxy.authz.policy.AuthorizationPolicy;
import io.isthmus.proxy.authz.policy.PolicyMode;
import io.isthmus.proxy.authz.policy.PolicySet;
import io.isthmus.proxy.authz.suggest.PathGeneralizer;

/**
 * Replays decision-log records against a candidate {@link PolicySet}, exactly as the destination's ingress would
 * decide them, and compares with what was recorded ({@code isthmus authz simulate}). A request counts as having
 * gone through when its enforced verdict was allow (observe mode allows everything); refusals made before policy
 * (who the caller is) are not replayed. Memory: at most {@value #MAX_GROUPS} groups per kind of change (beyond,
 * callers are counted together as {@value #OTHER_CALLERS}) and {@value #MAX_EXAMPLES} examples each. Not
 * thread-safe.
 */
public final class PolicySimulator {
    static final int MAX_GROUPS = 10_000;
    static final int MAX_EXAMPLES = 3;
    static final String OTHER_CALLERS = "(other callers)";

    private final PolicySet candidate;
    private final RecordSelection selection;
    private final Map<String, GroupState> denied = new TreeMap<>();
    private final Map<String, GroupState> allowed = new TreeMap<>();
    private long read;
    private long replayed;
    private long unchangedAllowed;
    private long unchangedDenied;
    private final Map<RecordSelection.LeftOut, Long> leftOut = new EnumMap<>(RecordSelection.LeftOut.class);

    public PolicySimulator(PolicySet candidate, RecordSelection selection) {
        this.candidate = Objects.requireNonNull(candidate, "candidate");
        this.selection = Objects.requireNonNull(selection, "selection");
    }

    public void accept(DecisionRecord r) {
        read++;
        Optional<RecordSelection.LeftOut> out = selection.leftOut(r);
        if (out.isPresent()) {
            leftOut.merge(out.get(), 1L, Long::sum);
            return;
        }
        replayed++;
        Decision now = candidate.decide(r.toAccessRequest());
        if (now.allowed() == r.served()) {
            if (now.allowed()) {
                unchangedAllowed++;
            } else {
                unchangedDenied++;
            }
            return;
        }
        add(now.allowed() ? allowed : denied, r, describe(now), r.verdict().allowed() ? "allow "
                + r.verdict().describe() : "deny " + r.verdict().describe());
    }

    private static void add(Map<String, GroupState> groups, DecisionRecord r, String now, String before) {
        String caller = r.caller().toString();
        String destination = r.destination().host();
        String key = caller + '\n' + destination + '\n' + now + '\n' + before;
        GroupState g = groups.get(key);
        if (g == null) {
            if (groups.size() >= MAX_GROUPS) {
                caller = OTHER_CALLERS;
                key = caller + '\n' + destination + '\n' + now + '\n' + before;
                g = groups.get(key);
            }
            if (g == null) {
                g = new GroupState(caller, destination, now, before);
                groups.put(key, g);
            }
        }
        g.requests++;
        if (g.examples.size() < MAX_EXAMPLES) {
            g.examples.add(r.tcp() ? "TCP " + r.port()
                    : r.method().orElseThrow() + " " + PathGeneralizer.generalize(r.path().orElseThrow()).template());
        }
    }

    /** {@code allow billing/x rules[0]}, {@code deny explicit-deny by billing/y rules[1]}, {@code deny no-matching-allow}. */
    static String describe(Decision d) {
        if (d.allowed()) {
            return "allow" + (d.policy().isEmpty() ? "" : " by " + d.policy() + " " + d.rule());
        }
        return "deny " + JsonDecisionLog.reason(d) + (d.policy().isEmpty() ? "" : " by " + d.policy() + " " + d.rule());
    }

    public SimulationReport report() {
        List<String> notes = new ArrayList<>();
        for (AuthorizationPolicy p : candidate.policies()) {
            if (p.mode().filter(m -> m == PolicyMode.OBSERVE).isPresent()) {
                notes.add("the candidate puts " + p.id() + "'s scope in observe mode: its requests are allowed "
                        + "whatever its rules say");
            }
            if (p.dryRun()) {
                notes.add(p.id() + " is dry-run in the candidate: it decides nothing here either");
            }
        }
        return new SimulationReport(read, replayed, unchangedAllowed, unchangedDenied,
                leftOut.getOrDefault(RecordSelection.LeftOut.REFUSED_BEFORE_POLICY, 0L),
                leftOut.getOrDefault(RecordSelection.LeftOut.BEFORE_WINDOW, 0L),
                leftOut.getOrDefault(RecordSelection.LeftOut.OTHER_NAMESPACE, 0L), groups(denied), groups(allowed),
                notes);
    }

    private static List<SimulationReport.Group> groups(Map<String, GroupState> groups) {
        return groups.values().stream()
                .map(g -> new SimulationReport.Group(g.caller, g.destination, g.now, g.before, g.requests,
                        List.copyOf(g.examples)))
                .sorted(Comparator.comparing(SimulationReport.Group::destination)
                        .thenComparing(SimulationReport.Group::caller).thenComparing(SimulationReport.Group::now)
                        .thenComparing(SimulationReport.Group::before))
                .toList();
    }

    private static final class GroupState {
        final String caller;
        final String destination;
        final String now;
        final String before;
        long requests;
        final TreeSet<String> examples = new TreeSet<>();

        GroupState(String caller, String destination, String now, String before) {
            this.caller = caller;
            this.destination = destination;
            this.now = now;
            this.before = before;
        }
    }
}
