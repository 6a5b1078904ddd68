package io.isthmus.gateway.entries;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.infinispan.Cache;

import io.isthmus.gateway.enrolment.EnrolmentStores;
import io.isthmus.trust.attest.RegistrationEntry;
import io.isthmus.trust.attest.RegistrationEntryRule;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Each VM agent's registration entries, as one JSON array per agent SPIFFE ID in the enrolment state's replicated
 * (REPL_SYNC) cache: any replica of the cluster answers the admin and the agent alike. A write replaces the agent's
 * whole set (the last write wins; an admin sends the full list, as with a Kubernetes object).
 */
@ApplicationScoped
public class RegistrationEntryStore {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Cache<String, String> cache;

    @Inject
    public RegistrationEntryStore(EnrolmentStores stores) {
        this(stores.registrationEntries());
    }

    public RegistrationEntryStore(Cache<String, String> cache) {
        this.cache = cache;
    }

    /** Replaces the agent's entries; an empty list removes the agent's record. */
    public void set(SpiffeId agent, List<RegistrationEntry> entries) {
        if (entries.isEmpty()) {
            cache.remove(agent.toString());
        } else {
            cache.put(agent.toString(), RegistrationEntryRule.json(entries).toString());
        }
    }

    /** The agent's entries as stored (a JSON array; empty when none). */
    public JsonNode of(SpiffeId agent) {
        return parse(cache.get(agent.toString()));
    }

    /** @return whether the agent had entries */
    public boolean delete(SpiffeId agent) {
        return cache.remove(agent.toString()) != null;
    }

    /** Every agent's entries, by agent ID. */
    public Map<String, JsonNode> all() {
        Map<String, JsonNode> all = new TreeMap<>();
        cache.forEach((k, v) -> all.put(k, parse(v)));
        return all;
    }

    private static JsonNode parse(String json) {
        if (json == null) {
            return JSON.createArrayNode();
        }
        try {
            return JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a stored registration entry list is not JSON: " + e.getOriginalMessage(), e);
        }
    }
}
