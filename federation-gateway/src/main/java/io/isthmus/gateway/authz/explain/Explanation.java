package io.isthmus.gateway.authz.explain;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What this gateway's ingress would do with an {@link ExplainRequest} under the policies in force now.
 *
 * @param outcome        {@code allow}, {@code deny} (policy) or {@code refused} (the path, before any policy)
 * @param status         the HTTP status the ingress would answer with a refusal (200 for allow: the backend answers)
 * @param reason         {@code allowed}, a deny reason ({@code no-matching-allow}, {@code explicit-deny}) or a path
 *                       refusal ({@code path-encoded-slash}): what {@code x-isthmus-reason} would say
 * @param policy         the policy whose rule decided, empty for default deny or a refused path
 * @param normalizedPath the path policy matched, as the ingress normalized it (and would forward it)
 * @param servedHere     whether this gateway's cluster exports the mesh name (else the call would not come here)
 */
public record Explanation(String outcome, int status, String reason, String policy, String rule, String detail,
        Optional<String> normalizedPath, String pathNormalization, List<String> auditMatches, boolean servedHere) {
    public Explanation {
        Objects.requireNonNull(outcome, "outcome");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(detail, "detail");
        Objects.requireNonNull(normalizedPath, "normalizedPath");
        Objects.requireNonNull(pathNormalization, "pathNormalization");
        auditMatches = List.copyOf(auditMatches);
    }

    public boolean allowed() {
        return outcome.equals("allow");
    }
}
