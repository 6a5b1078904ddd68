package io.isthmus.agent.attest;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import io.isthmus.trust.attest.RegistrationEntry;
import io.isthmus.trust.attest.RegistrationEntryRule;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * The entries the gateway sent this agent, checked again here with the rule the gateway applied at write
 * ({@link RegistrationEntryRule}): defence in depth, so that a gateway that holds a bad entry (an older version, a
 * store written around the API) can never make this agent hand a workload an ID outside the VM's path. A bad entry
 * is refused on its own (the others stand) and reported, never used. Pure.
 *
 * @param refused one line per refused entry: its index, reason and message
 */
public record PushedEntries(List<RegistrationEntry> accepted, List<String> refused) {
    public PushedEntries {
        accepted = List.copyOf(accepted);
        refused = List.copyOf(refused);
    }

    public static PushedEntries check(SpiffeId vm, JsonNode entries) {
        List<RegistrationEntry> accepted = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        if (entries == null || !entries.isArray()) {
            return new PushedEntries(accepted, List.of("the gateway's entries are not a JSON array: " + entries));
        }
        for (int i = 0; i < entries.size(); i++) {
            switch (RegistrationEntryRule.check(vm, entries.get(i))) {
                case RegistrationEntryRule.Valid v -> accepted.add(v.entry());
                case RegistrationEntryRule.Invalid bad -> refused.add("entry " + i + " (" + bad.reason().label() + "): "
                        + bad.message());
            }
        }
        return new PushedEntries(accepted, refused);
    }

    /**
     * The entries in force: the file's and the gateway's, both kept (the union, duplicates once). Neither source
     * overrides the other, as two SPIRE entries for one ID with other selectors both stand: a caller matching either
     * gets the ID. To withdraw a file entry, edit the file; a gateway entry, delete it at the gateway.
     */
    public static List<RegistrationEntry> union(List<RegistrationEntry> file, List<RegistrationEntry> pushed) {
        LinkedHashSet<RegistrationEntry> all = new LinkedHashSet<>(file);
        all.addAll(pushed);
        return List.copyOf(all);
    }
}
