package io.isthmus.agent.attest;

import io.isthmus.trust.attest.RegistrationEntry;
import io.isthmus.trust.attest.Selector;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import io.isthmus.trust.spiffe.SpiffeId;

/** All of an entry's selectors must match; every matching entry's ID is returned, sorted. */
class MatchingTest {
    private static final String VM = "spiffe://east.example/ns/shop/sa/db-1";
    private static final String HASH_A = "a".repeat(64);
    private static final String HASH_B = "b".repeat(64);
    private static final List<RegistrationEntry> ENTRIES = List.of(
            entry("/billing", "unix:uid:1000"),
            entry("/billing/batch", "unix:uid:1000", "unix:sha256:" + HASH_B),
            entry("/audit", "unix:user:audit", "unix:group:audit"),
            entry("/any-root", "unix:uid:0"));

    private static RegistrationEntry entry(String path, String... selectors) {
        return new RegistrationEntry(SpiffeId.parse(VM + path), Arrays.stream(selectors).map(Selector::parse)
                .collect(Collectors.toCollection(TreeSet::new)));
    }

    private static List<String> match(String... caller) {
        Set<Selector> selectors = Arrays.stream(caller).map(Selector::parse).collect(Collectors.toSet());
        return Matching.identities(selectors, ENTRIES).stream().map(SpiffeId::toString).toList();
    }

    @Test
    void oneSelectorEntryMatchesItsUser() {
        assertThat(match("unix:uid:1000", "unix:sha256:" + HASH_A)).containsExactly(VM + "/billing");
    }

    @Test
    void everyMatchingEntryIsReturnedSorted() {
        assertThat(match("unix:uid:1000", "unix:sha256:" + HASH_B)).containsExactly(VM + "/billing", VM + "/billing/batch");
    }

    @Test
    void anEntryNeedsAllItsSelectors() {
        assertThat(match("unix:user:audit", "unix:group:staff")).isEmpty();
        assertThat(match("unix:user:audit", "unix:group:audit")).containsExactly(VM + "/audit");
    }

    @Test
    void aStrangerMatchesNothing() {
        assertThat(match("unix:uid:1001", "unix:user:mallory", "unix:sha256:" + HASH_B)).isEmpty();
        assertThat(match()).isEmpty();
    }
}
