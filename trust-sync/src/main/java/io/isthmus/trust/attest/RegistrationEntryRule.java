package io.isthmus.trust.attest;

import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.trust.spiffe.InvalidSpiffeIdException;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Whether a registration entry, as JSON {@code {"spiffeId": ..., "selectors": [...]}}, may be used for the VM
 * {@code vm}: its ID must be the VM's own or under its path, in the VM's trust domain ({@link SpiffeId#isSelfOrUnder},
 * the rule by which the gateway signs workload SVIDs), and its selectors well-formed {@link Selector}s, at least one.
 * One rule for every place an entry comes in: the gateway's admin API refuses a bad entry at write, the agent refuses
 * one in its file at start and one the gateway sent it (defence in depth: a gateway that stored a bad entry, or one
 * an attacker wrote, still never widens what the agent hands out). Pure.
 */
public final class RegistrationEntryRule {
    private RegistrationEntryRule() {
    }

    /** Why an entry was refused; the label is the stable code in API answers, logs and tests. */
    public enum Reason {
        MALFORMED("malformed-entry"),
        MALFORMED_ID("malformed-spiffe-id"),
        OTHER_TRUST_DOMAIN("other-trust-domain"),
        NOT_UNDER_VM("not-under-vm"),
        NO_SELECTORS("no-selectors"),
        BAD_SELECTOR("bad-selector");

        private final String label;

        Reason(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** The decision on one entry. */
    public sealed interface Verdict {
    }

    public record Valid(RegistrationEntry entry) implements Verdict {
    }

    /** {@code message} quotes the entry's value and says what was expected. */
    public record Invalid(Reason reason, String message) implements Verdict {
    }

    public static Verdict check(SpiffeId vm, JsonNode entry) {
        if (entry == null || !entry.isObject()) {
            return new Invalid(Reason.MALFORMED, "an entry must be a JSON object {\"spiffeId\": \"" + vm
                    + "/<name>\", \"selectors\": [\"unix:uid:1000\"]}, not " + entry);
        }
        if (!entry.path("spiffeId").isTextual()) {
            return new Invalid(Reason.MALFORMED_ID, "\"spiffeId\" is missing or not a string; expected e.g. \"" + vm
                    + "/billing\"");
        }
        String text = entry.path("spiffeId").asText();
        SpiffeId id;
        try {
            id = SpiffeId.parseWorkload(text);
        } catch (InvalidSpiffeIdException e) {
            return new Invalid(Reason.MALFORMED_ID, "spiffeId '" + text + "' is not a workload SPIFFE ID: "
                    + e.getMessage());
        }
        if (!id.trustDomain().equals(vm.trustDomain())) {
            return new Invalid(Reason.OTHER_TRUST_DOMAIN, "SPIFFE ID " + id + " is in trust domain " + id.trustDomain()
                    + "; the VM " + vm + " is in " + vm.trustDomain() + " and only IDs under its path are signed");
        }
        if (vm.path().isEmpty() || !id.isSelfOrUnder(vm)) {
            return new Invalid(Reason.NOT_UNDER_VM, "SPIFFE ID " + id + " is outside this VM's path; the gateway signs only "
                    + vm + " or IDs under it, such as " + vm + "/billing");
        }
        if (!entry.path("selectors").isArray() || entry.path("selectors").isEmpty()) {
            return new Invalid(Reason.NO_SELECTORS, "entry " + id + " has no selectors (\"selectors\" is missing, empty "
                    + "or not an array); an entry without selectors would match every caller: list at least one, "
                    + "e.g. unix:uid:1000");
        }
        SortedSet<Selector> selectors = new TreeSet<>();
        for (JsonNode s : entry.path("selectors")) {
            try {
                selectors.add(Selector.parse(s.isTextual() ? s.asText() : null));
            } catch (InvalidSelectorException e) {
                return new Invalid(Reason.BAD_SELECTOR, "entry " + id + ": " + e.getMessage());
            }
        }
        return new Valid(new RegistrationEntry(id, selectors));
    }

    /** The entry as {@link #check} reads it. */
    public static ObjectNode json(RegistrationEntry entry) {
        ObjectNode node = JsonNodeFactory.instance.objectNode().put("spiffeId", entry.spiffeId().toString());
        entry.selectors().forEach(s -> node.withArray("selectors").add(s.toString()));
        return node;
    }

    /** The entries as a JSON array, in the order given. */
    public static JsonNode json(List<RegistrationEntry> entries) {
        var array = JsonNodeFactory.instance.arrayNode();
        entries.forEach(e -> array.add(json(e)));
        return array;
    }
}
