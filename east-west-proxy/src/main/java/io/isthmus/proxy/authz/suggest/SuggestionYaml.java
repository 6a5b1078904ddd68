package io.isthmus.proxy.authz.suggest;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

import io.isthmus.proxy.authz.policy.AuthorizationPolicy;

/**
 * Writes a {@link Suggestion} as YAML a person can review and diff: as one policy file (for
 * {@code isthmus.authz.policy-file}) or as one Kubernetes manifest per service (the {@code AuthorizationPolicy}
 * custom resource, for {@code kubectl apply}). Both carry the counts behind each rule, principal, operation and
 * path as comments, and the generalizations to review. Every string is written double-quoted with JSON escapes, so
 * what the logs held cannot change the YAML's structure. Deterministic; pure.
 */
public final class SuggestionYaml {
    /** Label on suggested custom resources, to find (and prune) them. */
    public static final String MANAGED_BY = "isthmus-authz-suggest";

    private SuggestionYaml() {
    }

    /** All policies as one multi-document policy file, with the summary and generalizations on top. */
    public static String policyFile(Suggestion s, boolean dryRun) {
        StringBuilder b = new StringBuilder();
        header(b, s, null);
        for (Suggestion.ServicePolicy p : s.policies()) {
            b.append("---\n");
            policy(b, p, dryRun, false);
        }
        return b.toString();
    }

    /** One manifest per service, by file name ({@code <namespace>.<service>.yaml}), sorted. */
    public static Map<String, String> manifests(Suggestion s, boolean dryRun) {
        Map<String, String> out = new TreeMap<>();
        for (Suggestion.ServicePolicy p : s.policies()) {
            StringBuilder b = new StringBuilder();
            header(b, s, p.service() + "." + p.namespace());
            b.append("---\n");
            policy(b, p, dryRun, true);
            out.put(p.namespace() + "." + p.service() + ".yaml", b.toString());
        }
        return out;
    }

    private static void header(StringBuilder b, Suggestion s, String onlyService) {
        Suggestion.Totals t = s.totals();
        b.append("# Suggested by isthmus authz suggest: least-privilege ALLOW policies for the traffic observed.\n");
        b.append("# From ").append(t.used()).append(" requests");
        if (t.first().isPresent()) {
            b.append(" logged ").append(t.first().get()).append(" .. ").append(t.last().orElseThrow());
        }
        b.append("; ").append(t.read()).append(" records read.\n# Left out: ").append(t.denied())
                .append(" denied by policy, ").append(t.refusedBeforePolicy()).append(" refused before policy, ")
                .append(t.outsideWindow()).append(" before --since, ").append(t.otherNamespace())
                .append(" of other namespaces.\n");
        b.append("# Callers are exact SPIFFE IDs; more than ").append(s.groupThreshold())
                .append(" distinct identities of one namespace (namespaces of one trust domain)\n")
                .append("# calling a service are grouped into a namespace (trust-domain) wildcard.\n");
        for (String w : s.warnings()) {
            b.append("# WARNING: ").append(w).append('\n');
        }
        List<Suggestion.Note> notes = s.generalizations().stream()
                .filter(n -> onlyService == null || n.service().equals(onlyService)).toList();
        if (!notes.isEmpty()) {
            b.append("# Review these generalizations (template <- observed paths it stands for: why; requests):\n");
            for (Suggestion.Note n : notes) {
                b.append("#   ").append(n.service()).append(' ').append(n.template()).append(" <- ")
                        .append(n.first());
                if (!n.last().equals(n.first())) {
                    b.append(" .. ").append(n.last());
                }
                b.append(": ").append(n.kinds().stream().sorted().map(Generalization::description)
                        .collect(Collectors.joining(", "))).append("; ").append(n.requests()).append('\n');
            }
        }
    }

    private static void policy(StringBuilder b, Suggestion.ServicePolicy p, boolean dryRun, boolean manifest) {
        long callers = p.rules().stream().mapToLong(r -> r.from().size()).sum();
        b.append("# ").append(p.service()).append('.').append(p.namespace()).append(": ").append(p.requests())
                .append(" requests from ").append(callers).append(callers == 1 ? " caller\n" : " callers\n");
        b.append("apiVersion: ").append(AuthorizationPolicy.API_VERSION).append('\n');
        b.append("kind: ").append(AuthorizationPolicy.KIND).append('\n');
        b.append("metadata:\n");
        b.append("  name: ").append(q(p.name())).append('\n');
        b.append("  namespace: ").append(q(p.namespace())).append('\n');
        if (manifest) {
            b.append("  labels:\n    app.kubernetes.io/managed-by: ").append(q(MANAGED_BY)).append('\n');
        }
        if (dryRun) {
            b.append("  annotations:\n    ").append(AuthorizationPolicy.DRY_RUN_ANNOTATION).append(": \"true\"\n");
        }
        b.append("spec:\n");
        b.append("  action: ALLOW\n");
        b.append("  selector:\n    services: [").append(q(p.service())).append("]\n");
        b.append("  rules:\n");
        for (Suggestion.SuggestedRule r : p.rules()) {
            rule(b, r);
        }
    }

    private static void rule(StringBuilder b, Suggestion.SuggestedRule r) {
        b.append("  # ").append(r.requests()).append(" requests\n");
        b.append("  - from:\n");
        List<Suggestion.From> principals = r.from().stream()
                .filter(f -> !(f.key() instanceof PrincipalKey.Domain)).toList();
        List<Suggestion.From> domains = r.from().stream().filter(f -> f.key() instanceof PrincipalKey.Domain).toList();
        if (!principals.isEmpty()) {
            b.append("    - source:\n        principals:\n");
            principals.forEach(f -> from(b, f));
        }
        if (!domains.isEmpty()) {
            b.append("    - source:\n        trustDomains:\n");
            domains.forEach(f -> from(b, f));
        }
        b.append("    to:\n");
        for (Suggestion.To o : r.to()) {
            b.append("    - operation:  # ").append(o.requests()).append(" requests");
            if (!o.note().isEmpty()) {
                b.append("; ").append(o.note());
            }
            b.append('\n');
            b.append("        ports: ").append(o.ports().stream().map(String::valueOf)
                    .collect(Collectors.joining(", ", "[", "]"))).append('\n');
            if (!o.tcp()) {
                b.append("        methods: ").append(o.methods().stream().map(SuggestionYaml::q)
                        .collect(Collectors.joining(", ", "[", "]"))).append('\n');
                b.append("        paths:\n");
                for (Suggestion.PathCount pc : o.paths()) {
                    b.append("        - ").append(q(pc.template())).append("  # ").append(pc.requests()).append('\n');
                }
            }
        }
    }

    private static void from(StringBuilder b, Suggestion.From f) {
        b.append("        - ").append(q(f.key().pattern())).append("  # ").append(f.requests()).append(" requests");
        if (!f.grouping().isEmpty()) {
            b.append("; ").append(f.grouping());
        }
        b.append('\n');
    }

    /** A YAML double-quoted scalar: JSON string escapes are valid YAML escapes. */
    static String q(String s) {
        return "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + "\"";
    }
}
