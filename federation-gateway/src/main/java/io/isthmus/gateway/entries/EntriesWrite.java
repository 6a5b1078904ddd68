package io.isthmus.gateway.entries;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import io.isthmus.gateway.enrolment.VmIdentityPolicy;
import io.isthmus.trust.attest.RegistrationEntry;
import io.isthmus.trust.attest.RegistrationEntryRule;
import io.isthmus.trust.spiffe.InvalidSpiffeIdException;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Whether an admin's {@code {"agent": "<VM SPIFFE ID>", "entries": [...]}} may be stored: the agent must be a VM
 * identity of this cluster ({@link VmIdentityPolicy}), and every entry must pass {@link RegistrationEntryRule} for
 * that agent (an ID equal to or under the agent's, in this trust domain; well-formed selectors). All or nothing: one
 * bad entry refuses the whole request, so a refused write changes nothing. Pure.
 */
public final class EntriesWrite {
    private EntriesWrite() {
    }

    /** Why a write was refused; the label is the API's error code. */
    public enum Reason {
        INVALID_REQUEST("invalid-request"),
        NOT_A_VM_IDENTITY("not-a-vm-identity"),
        INVALID_ENTRY("invalid-registration-entry");

        private final String label;

        Reason(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    public sealed interface Verdict {
    }

    public record Accepted(SpiffeId agent, List<RegistrationEntry> entries) implements Verdict {
        public Accepted {
            entries = List.copyOf(entries);
        }
    }

    /** {@code entryReason} is the entry rule's reason when one entry was the problem, else null. */
    public record Refused(Reason reason, RegistrationEntryRule.Reason entryReason, String message) implements Verdict {
    }

    public static Verdict check(VmIdentityPolicy policy, JsonNode body) {
        SpiffeId agent;
        Verdict bad = agent(policy, body == null ? null : body.get("agent"));
        if (bad instanceof Refused) {
            return bad;
        }
        agent = ((Accepted) bad).agent();
        JsonNode entries = body.get("entries");
        if (entries == null || !entries.isArray()) {
            return new Refused(Reason.INVALID_REQUEST, null, "\"entries\" is missing or not an array; send {\"agent\": \""
                    + agent + "\", \"entries\": [{\"spiffeId\": \"" + agent + "/<name>\", \"selectors\": "
                    + "[\"unix:uid:1000\"]}]} (an empty array removes them all)");
        }
        List<RegistrationEntry> accepted = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            switch (RegistrationEntryRule.check(agent, entries.get(i))) {
                case RegistrationEntryRule.Valid v -> accepted.add(v.entry());
                case RegistrationEntryRule.Invalid r -> {
                    return new Refused(Reason.INVALID_ENTRY, r.reason(), "entries[" + i + "] (" + r.reason().label()
                            + "): " + r.message() + "; nothing was changed");
                }
            }
        }
        return new Accepted(agent, accepted);
    }

    /** The agent's ID alone (for reads and deletes): Accepted with no entries, or why not. */
    public static Verdict agent(VmIdentityPolicy policy, JsonNode agent) {
        if (agent == null || !agent.isTextual()) {
            return new Refused(Reason.INVALID_REQUEST, null, "\"agent\" is missing or not a string; send the VM "
                    + "agent's SPIFFE ID, e.g. spiffe://" + policy.trustDomain() + "/ns/shop/sa/db-1");
        }
        SpiffeId id;
        try {
            id = SpiffeId.parseWorkload(agent.asText());
        } catch (InvalidSpiffeIdException e) {
            return new Refused(Reason.INVALID_REQUEST, null, "agent '" + agent.asText() + "' is not a SPIFFE ID: "
                    + e.getMessage());
        }
        String why = policy.check(id);
        if (why != null) {
            return new Refused(Reason.NOT_A_VM_IDENTITY, null, "agent " + why);
        }
        return new Accepted(id, List.of());
    }
}
