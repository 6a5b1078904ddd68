package io.isthmus.gateway.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

import io.isthmus.proxy.authz.audit.RecordSelection;
import io.isthmus.proxy.authz.suggest.Budget;
import io.isthmus.proxy.authz.suggest.PolicySuggester;
import io.isthmus.proxy.authz.suggest.Suggestion;
import io.isthmus.proxy.authz.suggest.SuggestionYaml;

/**
 * {@code isthmus authz suggest}: least-privilege ALLOW policies from decision logs, one per destination service,
 * commented with the counts behind each rule and the path generalizations to review.
 */
@Command(name = "suggest", description = {"Write least-privilege ALLOW policies for the traffic in decision logs "
        + "(observe mode logs everything a policy would have to allow).",
        "Prints a policy file (or --format crd manifests) to stdout, or writes both into --out."})
final class AuthzSuggestCommand implements Callable<Integer> {
    enum Format { POLICY_FILE, CRD }

    @Spec
    CommandSpec spec;

    @Mixin
    DecisionLogInput input;

    @Option(names = "--format", defaultValue = "policy-file", converter = FormatConverter.class,
            description = "policy-file (one YAML for isthmus.authz.policy-file) or crd (Kubernetes manifests).")
    Format format;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Write DIR/policies.yaml and DIR/crds/<namespace>.<service>.yaml instead of printing.")
    Path out;

    @Option(names = "--dry-run", description = "Annotate the policies as dry-run, to watch them before they decide.")
    boolean dryRun;

    @Option(names = "--group-threshold", defaultValue = "" + PolicySuggester.DEFAULT_GROUP_THRESHOLD,
            description = "Group into a namespace (trust-domain) wildcard only when more than this many distinct "
                    + "identities of one namespace (namespaces of one trust domain) called a service "
                    + "(default: ${DEFAULT-VALUE}; a large number keeps every caller exact).")
    int groupThreshold;

    @Option(names = "--max-entries", defaultValue = "" + Budget.DEFAULT_LIMIT,
            description = "Memory bound: callers, ports and path nodes held at most (default: ${DEFAULT-VALUE}, "
                    + "about 100 MB). Requests beyond it are reported and left out.")
    long maxEntries;

    @Override
    public Integer call() throws Exception {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (groupThreshold < 1 || maxEntries < 1) {
            err.println("isthmus: --group-threshold and --max-entries must be at least 1");
            return 2;
        }
        Clock clock = Clock.systemUTC();
        RecordSelection selection = input.selection(clock);
        PolicySuggester suggester = new PolicySuggester(new PolicySuggester.Options(selection, groupThreshold,
                maxEntries));
        input.read(selection.notBefore(), suggester::accept, err);
        Suggestion s = suggester.suggestion();
        for (String w : s.warnings()) {
            err.println("isthmus: WARNING: " + w);
        }
        if (s.policies().isEmpty()) {
            err.println("isthmus: no allowed request in the logs" + (input.since == null ? "" : " of the last "
                    + input.since) + (input.namespace == null ? "" : " to namespace " + input.namespace)
                    + ": nothing to suggest");
        }
        if (out == null) {
            if (format == Format.CRD) {
                SuggestionYaml.manifests(s, dryRun).values().forEach(stdout::print);
            } else {
                stdout.print(SuggestionYaml.policyFile(s, dryRun));
            }
            stdout.flush();
            return 0;
        }
        Path crds = out.resolve("crds");
        Files.createDirectories(crds);
        Files.writeString(out.resolve("policies.yaml"), SuggestionYaml.policyFile(s, dryRun), StandardCharsets.UTF_8);
        Map<String, String> manifests = SuggestionYaml.manifests(s, dryRun);
        for (Map.Entry<String, String> m : manifests.entrySet()) {
            Files.writeString(crds.resolve(m.getKey()), m.getValue(), StandardCharsets.UTF_8);
        }
        stdout.println("wrote " + out.resolve("policies.yaml") + " and " + manifests.size() + " manifest(s) in "
                + crds + ": " + s.policies().size() + " policies from " + s.totals().used() + " requests");
        return 0;
    }

    static final class FormatConverter implements ITypeConverter<Format> {
        @Override
        public Format convert(String value) {
            return switch (value) {
                case "policy-file" -> Format.POLICY_FILE;
                case "crd" -> Format.CRD;
                default -> throw new TypeConversionException("'" + value
                        + "' is not a format: use policy-file or crd");
            };
        }
    }
}
