package io.isthmus.gateway.enrolment;

import io.isthmus.trust.spiffe.InvalidSpiffeIdException;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Which SPIFFE IDs a VM agent may have signed for the workloads on its VM: its own ID, or an ID under its own path
 * ({@code spiffe://td/ns/shop/sa/db-1} may ask for {@code spiffe://td/ns/shop/sa/db-1/billing}), in its own trust
 * domain ({@link SpiffeId#isSelfOrUnder}, the rule the agent applies to its registration entries too). Dot segments
 * and percent encoding never reach the comparison: {@link SpiffeId} refuses them, and the text overload reports it. Pure; the
 * caller has already authenticated the agent as an enrolled, unrevoked VM (that is what makes {@code agent} a VM).
 */
public final class AgentSubjects {
    private AgentSubjects() {
    }

    /** Why a request was refused; the label is the stable code in audits and tests. */
    public enum Reason {
        MALFORMED("malformed"),
        OTHER_TRUST_DOMAIN("other-trust-domain"),
        NOT_UNDER_AGENT("not-under-agent");

        private final String label;

        Reason(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** The decision: {@link Allowed} carries the parsed ID, {@link Denied} says why and what was expected. */
    public sealed interface Verdict {
    }

    public record Allowed(SpiffeId id) implements Verdict {
    }

    public record Denied(Reason reason, String message) implements Verdict {
    }

    public static Verdict mayIssue(SpiffeId agent, SpiffeId requested) {
        if (!requested.trustDomain().equals(agent.trustDomain())) {
            return new Denied(Reason.OTHER_TRUST_DOMAIN, "'" + requested + "' is in trust domain "
                    + requested.trustDomain() + "; agent " + agent + " may only ask for IDs in " + agent.trustDomain());
        }
        if (agent.path().isEmpty() || !requested.isSelfOrUnder(agent)) {
            return new Denied(Reason.NOT_UNDER_AGENT, "'" + requested + "' is not " + agent + " or under it; "
                    + "an agent may only ask for its own ID or " + agent + "/<name>");
        }
        return new Allowed(requested);
    }

    /** As {@link #mayIssue(SpiffeId, SpiffeId)}, for an ID as the agent sent it. */
    public static Verdict mayIssue(SpiffeId agent, String requested) {
        SpiffeId id;
        try {
            id = SpiffeId.parseWorkload(requested);
        } catch (InvalidSpiffeIdException | NullPointerException e) {
            return new Denied(Reason.MALFORMED, "spiffeId " + (requested == null ? "is missing"
                    : "'" + requested + "' is not a workload SPIFFE ID: " + e.getMessage())
                    + "; send spiffe://" + agent.trustDomain().name() + agent.path() + "/<name>");
        }
        return mayIssue(agent, id);
    }
}
