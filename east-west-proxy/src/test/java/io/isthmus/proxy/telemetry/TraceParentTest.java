package io.isthmus.proxy.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** W3C Trace Context's traceparent, as a table: the specification's own examples, each rule broken once. */
class TraceParentTest {
    static final String SPEC = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    @Test
    void readsTheSpecificationsExample() {
        TraceParent t = parsed(SPEC);
        assertThat(t.traceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(t.parentId()).isEqualTo("00f067aa0ba902b7");
        assertThat(t.sampled()).isTrue();
        assertThat(t.header()).isEqualTo(SPEC);
        assertThat(parsed("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").sampled()).isFalse();
    }

    @Test
    void aHopKeepsTheTraceAndFlagsAndNamesItsOwnSpan() {
        TraceParent next = parsed(SPEC).sentBy("b7ad6b7169203331");
        assertThat(next.header()).isEqualTo("00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01");
    }

    @Test
    void readsTheKnownFieldsOfALaterVersion() {
        // "parse the version prefix and the four fields it knows" for versions above 00, trailing fields allowed.
        assertThat(parsed("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-the-future-brings")
                .flags()).isEqualTo(9);
        assertThat(parsed("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").header()).isEqualTo(SPEC);
    }

    @ParameterizedTest(name = "{1}: {0}")
    @CsvSource(delimiter = '|', value = {
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01 | BAD_TRACE_ID",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01 | BAD_PARENT_ID",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01 | BAD_TRACE_ID",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01 | BAD_PARENT_ID",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01 | BAD_TRACE_ID",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x | BAD_FLAGS",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 | BAD_VERSION",
            "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 | BAD_VERSION",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra | MALFORMED",
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.extra | MALFORMED",
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01 | MALFORMED",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7 | MALFORMED",
            "'' | MALFORMED"})
    void refusesWithTheRuleBroken(String header, TraceParentError reason) {
        assertThat(TraceParent.parse(header)).isInstanceOfSatisfying(TraceParent.Verdict.Invalid.class, i -> {
            assertThat(i.reason()).isEqualTo(reason);
            assertThat(i.detail()).isNotBlank();
        });
    }

    @Test
    void controlBytesInARefusedHeaderAreEscapedInItsDetail() {
        assertThat(TraceParent.parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902\n7-01"))
                .isInstanceOfSatisfying(TraceParent.Verdict.Invalid.class,
                        i -> assertThat(i.detail()).contains("\\x0a").doesNotContain("\n"));
    }

    @Test
    void aHopContinuesOneValidTraceAndStartsOverOtherwise() {
        TraceHop one = TraceHop.of(List.of(SPEC), List.of("congo=t61rcWkgMzE", "rojo=00f067aa0ba902b7"));
        assertThat(one.parent()).contains(parsed(SPEC));
        assertThat(one.tracestate()).contains("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
        assertThat(one.outgoing(java.util.Optional.empty())).as("without a span the header goes on unchanged")
                .contains(parsed(SPEC));
        TraceParent span = parsed(SPEC).sentBy("b7ad6b7169203331");
        assertThat(one.outgoing(java.util.Optional.of(span))).contains(span);

        TraceHop two = TraceHop.of(List.of(SPEC, SPEC), List.of("congo=t61rcWkgMzE"));
        assertThat(two.parent()).isEmpty();
        assertThat(two.ignored()).hasValueSatisfying(i -> assertThat(i.reason()).isEqualTo(TraceParentError.REPEATED));
        assertThat(two.tracestate()).as("tracestate without its traceparent is dropped").isEmpty();

        TraceHop bad = TraceHop.of(List.of("00-0-0-0"), List.of("congo=t61rcWkgMzE"));
        assertThat(bad.parent()).isEmpty();
        assertThat(bad.tracestate()).isEmpty();
        assertThat(TraceHop.of(List.of(), List.of()).outgoing(java.util.Optional.empty())).isEmpty();
    }

    @Test
    void theRecordRefusesWhatItCouldNotWrite() {
        assertThatThrownBy(() -> new TraceParent("00000000000000000000000000000000", "00f067aa0ba902b7", 1))
                .hasMessageContaining("not all zero");
        assertThatThrownBy(() -> new TraceParent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 256))
                .hasMessageContaining("one byte");
    }

    private static TraceParent parsed(String header) {
        return ((TraceParent.Verdict.Parsed) TraceParent.parse(header)).value();
    }
}
