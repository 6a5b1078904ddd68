package io.isthmus.gateway.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import io.isthmus.proxy.authz.audit.RecordSelection;
import io.isthmus.proxy.authz.policy.AuthorizationPolicy;
import io.isthmus.proxy.authz.policy.InvalidPolicyException;
import io.isthmus.proxy.authz.policy.PolicySet;
import io.isthmus.proxy.authz.policy.PolicyViolation;
import io.isthmus.proxy.authz.policy.source.PolicyYaml;
import io.isthmus.proxy.authz.simulate.PolicySimulator;
import io.isthmus.proxy.authz.simulate.SimulationReport;

/**
 * {@code isthmus authz simulate}: replays the requests of decision logs against a candidate policy set and prints
 * what would newly be denied and newly be allowed. Exit 0 when nothing that went through would be denied,
 * {@value #BREAKS} when something would (so CI can gate a policy change), 1 when the candidate is invalid.
 */
@Command(name = "simulate", description = {"Replay logged requests against candidate policies: what would newly be "
        + "denied or allowed, by caller, destination and rule.",
        "Exit 0: nothing observed would be denied; 3: something would; 1: invalid candidate or log."})
final class AuthzSimulateCommand implements Callable<Integer> {
    static final int BREAKS = 3;

    @Spec
    CommandSpec spec;

    @Mixin
    DecisionLogInput input;

    @Option(names = "--policy", required = true, paramLabel = "FILE",
            description = "Candidate policies (multi-document YAML); repeat to combine files.")
    List<Path> policies;

    @Option(names = "--root-namespace", defaultValue = "isthmus-system",
            description = "Namespace whose policies apply mesh-wide (default: ${DEFAULT-VALUE}).")
    String rootNamespace;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<AuthorizationPolicy> candidate = new ArrayList<>();
        for (Path file : policies) {
            try {
                candidate.addAll(PolicyYaml.parse(Files.readString(file, StandardCharsets.UTF_8), file.toString()));
            } catch (InvalidPolicyException e) {
                for (PolicyViolation v : e.violations()) {
                    err.println(v);
                }
                err.println(file + ": invalid, " + e.violations().size() + " error(s); nothing simulated");
                return 1;
            }
        }
        Clock clock = Clock.systemUTC();
        RecordSelection selection = input.selection(clock);
        PolicySimulator simulator = new PolicySimulator(PolicySet.of(rootNamespace, candidate), selection);
        input.read(selection.notBefore(), simulator::accept, err);
        SimulationReport r = simulator.report();
        print(out, r, candidate.size());
        return r.breaksTraffic() ? BREAKS : 0;
    }

    static void print(PrintWriter out, SimulationReport r, int policies) {
        out.println("replayed " + r.replayed() + " of " + r.read() + " logged requests against " + policies
                + " candidate policies: " + r.unchangedAllowed() + " still allowed, " + r.unchangedDenied()
                + " still denied, " + r.newlyDeniedRequests() + " newly denied, " + r.newlyAllowedRequests()
                + " newly allowed (not replayed: " + r.refusedBeforePolicy() + " refused before policy, "
                + r.outsideWindow() + " before --since, " + r.otherNamespace() + " of other namespaces)");
        for (String n : r.notes()) {
            out.println("note: " + n);
        }
        section(out, "NEWLY DENIED (these requests went through and would break)", r.newlyDenied());
        section(out, "NEWLY ALLOWED (policy refused these; the candidate would let them through)", r.newlyAllowed());
        out.println(r.breaksTraffic() ? "FAIL: the candidate would deny " + r.newlyDeniedRequests()
                + " observed requests" : "OK: the candidate denies nothing that was observed going through");
        out.flush();
    }

    private static void section(PrintWriter out, String title, List<SimulationReport.Group> groups) {
        if (groups.isEmpty()) {
            return;
        }
        out.println(title + ":");
        for (SimulationReport.Group g : groups) {
            out.println("  " + g.caller() + " -> " + g.destination() + ": " + g.requests() + " requests, now "
                    + g.now() + " (was " + g.before() + "), e.g. " + String.join(", ", g.examples()));
        }
    }
}
