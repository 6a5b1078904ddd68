package io.isthmus.proxy.authz.policy;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A policy document broke one or more rules; {@link #violations()} lists each with its field path. The message
 * names the document ({@code source}) and every violation, so one log line is enough to fix it.
 */
public final class InvalidPolicyException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String source;
    private final transient List<PolicyViolation> violations;

    public InvalidPolicyException(String source, List<PolicyViolation> violations) {
        super("invalid AuthorizationPolicy " + source + ": "
                + violations.stream().map(PolicyViolation::toString).collect(Collectors.joining("; ")));
        this.source = source;
        this.violations = List.copyOf(violations);
    }

    /** Which document: {@code file.yaml document 2 (billing/allow-checkout)}, {@code billing/allow-checkout (CR)}. */
    public String source() {
        return source;
    }

    public List<PolicyViolation> violations() {
        return violations;
    }
}
