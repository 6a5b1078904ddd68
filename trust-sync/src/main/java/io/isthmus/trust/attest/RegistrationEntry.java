package io.isthmus.trust.attest;

import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

import io.isthmus.trust.spiffe.SpiffeId;

/**
 * A workload's SPIFFE ID and the selectors a caller must all show to get it (SPIRE's registration entry, without
 * a parent ID: the parent is always this VM).
 */
public record RegistrationEntry(SpiffeId spiffeId, SortedSet<Selector> selectors) {
    public RegistrationEntry {
        Objects.requireNonNull(spiffeId, "spiffeId");
        if (selectors == null || selectors.isEmpty()) {
            throw new InvalidSelectorException("entry " + spiffeId + " has no selectors; an entry without selectors would "
                    + "match every caller: list at least one, e.g. unix:uid:1000");
        }
        selectors = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(selectors));
    }

    /** True when the caller shows every selector of this entry. */
    public boolean matches(Set<Selector> caller) {
        return caller.containsAll(selectors);
    }
}
