package io.isthmus.trust.text;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TerminalWriterTest {

    /** Writes {@code text} in pieces cut at every '|' (so pairs arrive split), then flushes. */
    private static String through(String text) throws IOException {
        StringWriter sink = new StringWriter();
        TerminalWriter w = new TerminalWriter(sink);
        for (String piece : text.split("\\|", -1)) {
            w.write(piece);
        }
        w.flush();
        return sink.toString();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '¦', quoteCharacter = '"', textBlock = """
            plain text and symbols ¦ ✓ peer-ingress beta  10.0.0.2:15443 → ok<LF> ¦ ✓ peer-ingress beta  10.0.0.2:15443 → ok<LF>
            tabs and line feeds kept ¦ a<TAB>b<LF>c<LF> ¦ a<TAB>b<LF>c<LF>
            CRLF kept ¦ line<CR><LF>next ¦ line<CR><LF>next
            CRLF split across writes ¦ line<CR>|<LF>next ¦ line<CR><LF>next
            lone CR escaped ¦ failed<CR>✓ passed ¦ failed\\x0D✓ passed
            CR at a flush escaped ¦ failed<CR> ¦ failed\\x0D
            CR before a write's end, then text ¦ failed<CR>|✓ passed ¦ failed\\x0D✓ passed
            CSI escaped ¦ <ESC>[2K<ESC>[1A✓ ok ¦ \\x1B[2K\\x1B[1A✓ ok
            OSC 8 link escaped ¦ <ESC>]8;;https://evil/<BEL>x ¦ \\x1B]8;;https://evil/\\x07x
            C1 CSI escaped ¦ a<C1>2J ¦ a\\x9B2J
            bidi override escaped ¦ a<RLO>b ¦ a\\u202Eb
            emoji kept, split ¦ <HI>|<LO>! ¦ <HI><LO>!
            lone high surrogate at flush ¦ a<HI> ¦ a\\uD83D
            lone high surrogate then text ¦ a<HI>|b ¦ a\\uD83Db
            """)
    void escapesEverythingATerminalActsOnButLineEnds(String row, String input, String expected) throws IOException {
        assertThat(through(decode(input))).as(row).isEqualTo(decode(expected).replace("|", ""));
    }

    @org.junit.jupiter.api.Test
    void aPrintWriterOverItPrintsLinesAsBefore() {
        StringWriter sink = new StringWriter();
        PrintWriter out = new PrintWriter(new TerminalWriter(sink), true);
        out.printf("%-8s %s%n", "NAME", "ERROR");
        out.printf("%-8s %s%n", "beta", "down\r\u001b[2Kup");
        assertThat(sink.toString()).isEqualTo(String.format("%-8s %s%n", "NAME", "ERROR")
                + String.format("%-8s %s%n", "beta", "down\\x0D\\x1B[2Kup"));
    }

    private static String decode(String s) {
        return s.replace("<LF>", "\n").replace("<CR>", "\r").replace("<TAB>", "\t").replace("<ESC>", "\u001b")
                .replace("<BEL>", "\u0007").replace("<C1>", "\u009b").replace("<RLO>", "\u202e")
                .replace("<HI>", "\ud83d").replace("<LO>", "\ude80").replace("\\\\", "\\");
    }
}
