package io.isthmus.agent.attest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.trust.spiffe.InvalidSpiffeIdException;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * The agent's registration entries file ({@code --registration-entries}), JSON:
 * <pre>
 * {"entries": [
 *   {"spiffeId": "spiffe://east.example/ns/shop/sa/db-1/billing",
 *    "selectors": ["unix:user:billing", "unix:path:/opt/billing/bin/billing"]}
 * ]}
 * </pre>
 * Every ID must be the VM's own or under its path ({@link SpiffeId#isSelfOrUnder}, the rule by which the gateway
 * refuses to sign any other; checking here makes a typo fail the start, not a workload's first call).
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
            String where = file + " entry " + i++;
            try {
                entries.add(entry(e, vm));
            } catch (InvalidSelectorException | InvalidSpiffeIdException ex) {
                throw new InvalidSelectorException(where + ": " + ex.getMessage());
            }
        }
        return List.copyOf(entries);
    }

    static RegistrationEntry entry(JsonNode e, SpiffeId vm) {
        if (!e.path("spiffeId").isTextual()) {
            throw new InvalidSelectorException("\"spiffeId\" is missing or not a string");
        }
        SpiffeId id = SpiffeId.parseWorkload(e.path("spiffeId").asText());
        if (!id.isSelfOrUnder(vm)) {
            throw new InvalidSelectorException("SPIFFE ID " + id + " is outside this VM's path; the gateway signs only "
                    + vm + " or IDs under it, such as " + vm + "/billing");
        }
        if (!e.path("selectors").isArray()) {
            throw new InvalidSelectorException("\"selectors\" of " + id + " is missing or not an array of strings");
        }
        SortedSet<Selector> selectors = new TreeSet<>();
        for (JsonNode s : e.path("selectors")) {
            selectors.add(Selector.parse(s.isTextual() ? s.asText() : null));
        }
        return new RegistrationEntry(id, selectors);
    }
}
