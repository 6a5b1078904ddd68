package io.isthmus.agent.attest;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.trust.attest.InvalidSelectorException;
import io.isthmus.trust.attest.RegistrationEntry;
import io.isthmus.trust.attest.RegistrationEntryRule;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * The agent's registration entries file ({@code --registration-entries}), JSON:
 * <pre>
 * {"entries": [
 *   {"spiffeId": "spiffe://east.example/ns/shop/sa/db-1/billing",
 *    "selectors": ["unix:user:billing", "unix:path:/opt/billing/bin/billing"]}
 * ]}
 * </pre>
 * Every entry must pass {@link RegistrationEntryRule} (the rule by which the gateway refuses to store or sign any
 * other; checking here makes a typo fail the start, not a workload's first call).
 */
public final class RegistrationEntries {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RegistrationEntries() {
    }

    /** Reads {@code file} and checks every entry against the VM's ID; the message names the entry and the fix. */
    public static List<RegistrationEntry> read(Path file, SpiffeId vm) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new InvalidSelectorException(file + " is not JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.path("entries").isArray()) {
            throw new InvalidSelectorException(file + " has no \"entries\" array; expected {\"entries\": [{\"spiffeId\": "
                    + "\"" + vm + "/<name>\", \"selectors\": [\"unix:uid:1000\"]}]}");
        }
        List<RegistrationEntry> entries = new ArrayList<>();
        int i = 0;
        for (JsonNode e : root.path("entries")) {
            switch (RegistrationEntryRule.check(vm, e)) {
                case RegistrationEntryRule.Valid v -> entries.add(v.entry());
                case RegistrationEntryRule.Invalid bad -> throw new InvalidSelectorException(file + " entry " + i + ": "
                        + bad.message());
            }
            i++;
        }
        return List.copyOf(entries);
    }
}
