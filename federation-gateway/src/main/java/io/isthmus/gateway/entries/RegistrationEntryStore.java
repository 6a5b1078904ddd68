package io.isthmus.gateway.entries;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;

import org.infinispan.Cache;
import org.infinispan.partitionhandling.AvailabilityException;
import org.infinispan.partitionhandling.AvailabilityMode;

import io.isthmus.gateway.enrolment.EnrolmentError;
import io.isthmus.gateway.enrolment.EnrolmentException;
import io.isthmus.gateway.enrolment.EnrolmentStores;
import io.isthmus.trust.attest.RegistrationEntry;
import io.isthmus.trust.attest.RegistrationEntryRule;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Each VM agent's registration entries, as one versioned JSON list per agent SPIFFE ID ({@link VersionedEntries}) in
 * the enrolment state's replicated (REPL_SYNC) cache: any replica of the cluster answers the admin and the agent alike.
 * A write replaces the agent's whole set (the last write wins; an admin sends the full list, as with a Kubernetes
 * object) and raises its version; a deletion leaves an empty list of a higher version. Only a replica that sees a
 * majority of the cluster's replicas changes entries; one cut off from them still serves the entries it has, and when
 * the replicas merge the newest copy wins ({@link io.isthmus.gateway.enrolment.EnrolmentCluster}).
 */
@ApplicationScoped
public class RegistrationEntryStore {
    private static final int ATTEMPTS = 16;

    private final Cache<String, String> cache;

    @Inject
    public RegistrationEntryStore(EnrolmentStores stores) {
        this(stores.registrationEntries());
    }

    public RegistrationEntryStore(Cache<String, String> cache) {
        this.cache = cache;
    }

    /**
     * Replaces the agent's entries; an empty list removes them.
     *
     * @throws EnrolmentException {@code store-unavailable} on a replica that does not see a majority of the cluster's
     *         replicas (nothing changed)
     */
    public void set(SpiffeId agent, List<RegistrationEntry> entries) {
        write(agent, (ArrayNode) RegistrationEntryRule.json(entries), false);
    }

    /** The agent's entries as stored (a JSON array; empty when none). */
    public JsonNode of(SpiffeId agent) {
        return read(cache.get(agent.toString())).entries();
    }

    /**
     * @return whether the agent had entries
     * @throws EnrolmentException {@code store-unavailable} as {@link #set}
     */
    public boolean delete(SpiffeId agent) {
        return write(agent, (ArrayNode) RegistrationEntryRule.json(List.of()), true);
    }

    /** Every agent's entries, by agent ID (agents whose entries were deleted are left out). */
    public Map<String, JsonNode> all() {
        Map<String, JsonNode> all = new TreeMap<>();
        cache.forEach((k, v) -> {
            VersionedEntries e = read(v);
            if (!e.isEmpty()) {
                all.put(k, e.entries());
            }
        });
        return all;
    }

    /** Writes {@code next} over the agent's current copy, one version up; returns whether it had entries. */
    private boolean write(SpiffeId agent, ArrayNode next, boolean onlyIfAny) {
        if (cache.getAdvancedCache().getAvailability() != AvailabilityMode.AVAILABLE) {
            throw readOnly();
        }
        String key = agent.toString();
        try {
            for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
                String stored = cache.get(key);
                VersionedEntries current = read(stored);
                if (onlyIfAny && current.isEmpty()) {
                    return false;
                }
                String written = current.then(next).json();
                if (stored == null ? cache.putIfAbsent(key, written) == null : cache.replace(key, stored, written)) {
                    return !current.isEmpty();
                }
            }
        } catch (AvailabilityException e) {
            throw readOnly();
        }
        throw new EnrolmentException(EnrolmentError.STORE_UNAVAILABLE, "the registration entries of " + agent
                + " changed " + ATTEMPTS + " times while this change was written; retry");
    }

    private static VersionedEntries read(String stored) {
        try {
            return VersionedEntries.read(stored);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    private EnrolmentException readOnly() {
        return new EnrolmentException(EnrolmentError.STORE_UNAVAILABLE, "registration entries cannot be changed on this "
                + "replica: it sees only the replicas " + cache.getCacheManager().getMembers() + ", not a majority of "
                + "the cluster's replicas (a partition, or a replica that stopped without leaving); it still serves the "
                + "entries it has. Retry once the other replicas are back, or at a replica on the majority side");
    }
}
