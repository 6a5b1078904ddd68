package io.isthmus.agent.attest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import io.isthmus.trust.attest.RegistrationEntry;
import io.isthmus.trust.attest.Selector;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Which open streams lose which IDs when the entries change. The caller below showed {@code unix:uid:1000} and the
 * hash of its binary when its stream opened; each row gives what the stream held, the entries now, and the verdict.
 */
class StreamGrantTest {
    private static final String VM = "spiffe://east.example/ns/shop/sa/db-1";
    private static final String HASH = "a".repeat(64);
    private static final Set<Selector> CALLER = selectors("unix:uid:1000", "unix:user:billing", "unix:sha256:" + HASH);

    static Stream<Arguments> rows() {
        RegistrationEntry billing = entry("/billing", "unix:uid:1000");
        RegistrationEntry batch = entry("/billing/batch", "unix:uid:1000", "unix:sha256:" + HASH);
        return Stream.of(
                // Valid rows: nothing the stream holds is taken.
                Arguments.of("entries unchanged", ids("/billing"), List.of(billing), "keep", "", ""),
                Arguments.of("another caller's entry added", ids("/billing"),
                        List.of(billing, entry("/audit", "unix:uid:1001")), "keep", "", ""),
                Arguments.of("same ID through another of its selectors", ids("/billing"),
                        List.of(entry("/billing", "unix:user:billing")), "keep", "", ""),
                Arguments.of("the VM's own ID named by an entry, kept", Set.of(SpiffeId.parse(VM)),
                        List.of(new RegistrationEntry(SpiffeId.parse(VM), new TreeSet<>(selectors("unix:uid:1000")))),
                        "keep", "", ""),
                Arguments.of("a new entry matches: gained", ids("/billing"), List.of(billing, batch), "regrant",
                        "", "/billing/batch"),
                // Rows where the stream loses an ID.
                Arguments.of("entry deleted, another stands", ids("/billing", "/billing/batch"), List.of(billing),
                        "regrant", "/billing/batch", ""),
                Arguments.of("SPIFFE ID changed: the new only, never both", ids("/billing"),
                        List.of(entry("/billing-2", "unix:uid:1000")), "regrant", "/billing", "/billing-2"),
                Arguments.of("entry deleted, none left", ids("/billing"), List.of(), "end", "/billing", ""),
                Arguments.of("selectors changed to another user (the ID lives on for it)", ids("/billing"),
                        List.of(entry("/billing", "unix:uid:4242")), "end", "/billing", ""),
                Arguments.of("a selector added that the caller did not show", ids("/billing"),
                        List.of(entry("/billing", "unix:uid:1000", "unix:gid:50")), "end", "/billing", ""),
                Arguments.of("binary pinned to another hash", ids("/billing/batch"),
                        List.of(entry("/billing/batch", "unix:uid:1000", "unix:sha256:" + "b".repeat(64))), "end",
                        "/billing/batch", ""),
                Arguments.of("the VM's own ID no longer named", Set.of(SpiffeId.parse(VM)), List.of(billing),
                        "regrant", VM, "/billing"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void decidesWhatAnOpenStreamKeeps(String row, Set<SpiffeId> held, List<RegistrationEntry> entries, String verdict,
            String lost, String gained) {
        StreamGrant.Verdict v = StreamGrant.decide(CALLER, new TreeSet<>(held), entries);
        switch (v) {
            case StreamGrant.Keep k -> assertThat(verdict).as(row).isEqualTo("keep");
            case StreamGrant.Regrant r -> {
                assertThat(verdict).as(row).isEqualTo("regrant");
                assertThat(r.lost()).as(row + ": lost").isEqualTo(expected(lost));
                assertThat(r.gained()).as(row + ": gained").isEqualTo(expected(gained));
                assertThat(r.now()).as(row + ": the stream carries what the caller matches now, only that")
                        .isEqualTo(Matching.identities(CALLER, entries)).noneMatch(r.lost()::contains);
            }
            case StreamGrant.End e -> {
                assertThat(verdict).as(row).isEqualTo("end");
                assertThat(e.lost()).as(row + ": lost").isEqualTo(new TreeSet<>(held)).isEqualTo(expected(lost));
            }
        }
    }

    @Test
    void aRegrantNeverLeavesAStreamWithNothing() {
        assertThatThrownBy(() -> new StreamGrant.Regrant(new TreeSet<>(), ids("/billing"), new TreeSet<>()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ends");
    }

    private static SortedSet<SpiffeId> expected(String ids) {
        return ids.isEmpty() ? new TreeSet<>() : ids(ids.startsWith("spiffe:") ? ids.substring(VM.length()) : ids);
    }

    private static SortedSet<SpiffeId> ids(String... paths) {
        return Arrays.stream(paths).map(p -> SpiffeId.parse(VM + p)).collect(Collectors.toCollection(TreeSet::new));
    }

    private static Set<Selector> selectors(String... s) {
        return Arrays.stream(s).map(Selector::parse).collect(Collectors.toSet());
    }

    private static RegistrationEntry entry(String path, String... selectors) {
        return new RegistrationEntry(SpiffeId.parse(VM + path), new TreeSet<>(selectors(selectors)));
    }
}
