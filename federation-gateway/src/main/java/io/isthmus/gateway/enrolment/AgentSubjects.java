package io.isthmus.gateway.enrolment;

import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Which SPIFFE IDs a VM agent may obtain SVIDs (X.509 or JWT) for: its own, or one under its own path, in its own
 * trust domain. {@code spiffe://td/vm/web} may have {@code spiffe://td/vm/web/api}, never {@code spiffe://td/vm/webx}
 * (a sibling sharing a prefix) nor {@code spiffe://td/vm} (its parent). Pure; thread-safe.
 */
public final class AgentSubjects {
    private AgentSubjects() {
    }

    /** The decision, with the reason quoted for the caller when it is a refusal. */
    public sealed interface Verdict {
        record Allowed() implements Verdict {
        }

        record Denied(String reason) implements Verdict {
        }
    }

    public static Verdict mayIssue(SpiffeId agent, SpiffeId requested) {
        if (!requested.trustDomain().equals(agent.trustDomain())) {
            return new Verdict.Denied(requested + " is not in the agent's trust domain " + agent.trustDomain()
                    + "; an agent gets SVIDs only for its own trust domain");
        }
        if (requested.path().equals(agent.path())
                || (!agent.path().isEmpty() && requested.path().startsWith(agent.path() + "/"))) {
            return new Verdict.Allowed();
        }
        return new Verdict.Denied(requested + " is not " + agent + " nor under its path " + agent.path()
                + "/; an agent gets SVIDs only for its own identity and the workloads registered under it");
    }
}
