package io.isthmus.agent.attest;

import io.isthmus.trust.attest.RegistrationEntry;
import io.isthmus.trust.attest.Selector;
import java.util.Collection;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Which SPIFFE IDs a caller may act as: the IDs of every entry whose selectors the caller all shows, sorted by ID
 * so that every call answers in the same order (SPIRE, too, answers every matching entry). Pure.
 */
public final class Matching {
    private Matching() {
    }

    public static SortedSet<SpiffeId> identities(Set<Selector> caller, Collection<RegistrationEntry> entries) {
        SortedSet<SpiffeId> ids = new TreeSet<>();
        for (RegistrationEntry e : entries) {
            if (e.matches(caller)) {
                ids.add(e.spiffeId());
            }
        }
        return ids;
    }
}
