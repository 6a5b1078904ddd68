package io.isthmus.gateway.entries;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;

/** {@link VersionedEntries}: the stored form, and which replica's copy of an agent's entries survives a merge. */
class VersionedEntriesTest {
    private static final String ONE = "[{\"spiffeId\":\"spiffe://a.test/ns/shop/sa/vm/billing\",\"selectors\":[\"unix:uid:1000\"]}]";
    private static final String TWO = "[{\"spiffeId\":\"spiffe://a.test/ns/shop/sa/vm/admin\",\"selectors\":[\"unix:uid:0\"]},"
            + "{\"spiffeId\":\"spiffe://a.test/ns/shop/sa/vm/billing\",\"selectors\":[\"unix:uid:1000\"]}]";

    private static String v(long version, String entries) {
        return "{\"version\":" + version + ",\"entries\":" + entries + "}";
    }

    static Stream<Arguments> merges() {
        return Stream.of(
                Arguments.of("a deletion on the other side is newer than the preferred side's entries",
                        Arrays.asList(v(1, ONE), v(2, "[]")), 1),
                Arguments.of("a deletion on the preferred side is kept", Arrays.asList(v(2, "[]"), v(1, ONE)), 0),
                Arguments.of("a change on a third side", Arrays.asList(v(1, ONE), v(1, ONE), v(2, TWO)), 2),
                Arguments.of("a side that never had the agent does not undo entries set elsewhere",
                        Arrays.asList(null, v(0, ONE)), 1),
                Arguments.of("a tombstone wins over a side that never had the agent", Arrays.asList(null, v(3, "[]")), 1),
                Arguments.of("a stored list from before versions is version 0", Arrays.asList(ONE, v(1, "[]")), 1),
                Arguments.of("equal versions, equal copies: the preferred side", Arrays.asList(v(4, ONE), v(4, ONE)), 0),
                Arguments.of("equal versions written on both sides: fewer entries, on every replica alike",
                        Arrays.asList(v(4, TWO), v(4, ONE)), 1),
                Arguments.of("equal versions, same size: the smaller JSON, on every replica alike",
                        Arrays.asList(v(4, "[{\"spiffeId\":\"spiffe://a.test/ns/shop/sa/vm/z\",\"selectors\":[\"unix:uid:1\"]}]"),
                                v(4, ONE)), 1),
                Arguments.of("an unreadable copy is not chosen over a readable one",
                        Arrays.asList("{\"version\":9}", v(1, ONE)), 1),
                Arguments.of("an unreadable copy does not hide a newer deletion",
                        Arrays.asList(v(1, ONE), "not json", v(2, "[]")), 2),
                Arguments.of("nothing readable: the first present copy", Arrays.asList(null, "not json"), 1),
                Arguments.of("no copy at all", Arrays.asList((String) null), -1),
                Arguments.of("no sides", List.of(), -1));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("merges")
    void keepsTheNewestCopy(String row, List<String> copies, int kept) {
        assertThat(VersionedEntries.newest(copies)).isEqualTo(kept);
    }

    @Test
    void readsWritesAndRaisesTheVersion() {
        VersionedEntries none = VersionedEntries.read(null);
        assertThat(none.version()).isEqualTo(-1);
        assertThat(none.isEmpty()).isTrue();
        VersionedEntries legacy = VersionedEntries.read(ONE);
        assertThat(legacy.version()).isZero();
        assertThat(legacy.entries()).hasSize(1);
        VersionedEntries deleted = legacy.then(new ObjectMapper().createArrayNode());
        assertThat(deleted.json()).isEqualTo("{\"version\":1,\"entries\":[]}");
        assertThat(VersionedEntries.read(deleted.json())).isEqualTo(deleted);
        assertThat(none.then((ArrayNode) legacy.entries()).json()).isEqualTo(v(0, ONE));
    }

    @ParameterizedTest
    @ValueSource(strings = {"not json", "{}", "{\"entries\":[]}", "{\"version\":1}", "{\"version\":-1,\"entries\":[]}",
            "{\"version\":1.5,\"entries\":[]}", "{\"version\":\"1\",\"entries\":[]}", "{\"version\":1,\"entries\":{}}",
            "{\"version\":1,\"entries\":[],\"extra\":true}", "\"text\"", "7", "null",
            "{\"version\":99999999999999999999999,\"entries\":[]}"})
    void refusesAnythingElse(String stored) {
        assertThatThrownBy(() -> VersionedEntries.read(stored)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("a stored registration entry list is");
    }
}
