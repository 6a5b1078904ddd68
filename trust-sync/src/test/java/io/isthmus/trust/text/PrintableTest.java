package io.isthmus.trust.text;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PrintableTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            # row                         | input (Java escapes)                             | printed
            plain ASCII is kept           | spiffe://b.acme.internal/ns/shop/sa/cart         | spiffe://b.acme.internal/ns/shop/sa/cart
            quotes and backslash are kept | "it's a \\\\ path"                               | "it's a \\\\ path"
            non-ASCII letters are kept    | Zürich → ✓                                       | Zürich → ✓
            emoji is kept                 | \\uD83D\\uDE80                                   | \\uD83D\\uDE80
            ESC of a CSI                  | \\u001B[2K\\u001B[1A✓ ok                         | \\\\x1B[2K\\\\x1B[1A✓ ok
            OSC 8 hyperlink ended by BEL  | \\u001B]8;;https://evil/\\u0007click\\u001B]8;;\\u0007 | \\\\x1B]8;;https://evil/\\\\x07click\\\\x1B]8;;\\\\x07
            CR overwrites a line          | failed\\r✓ passed                                | failed\\\\x0D✓ passed
            LF forges a log line          | x\\n2026-01-01 INFO forged                       | x\\\\x0A2026-01-01 INFO forged
            tab                           | a\\tb                                            | a\\\\x09b
            NUL                           | a\\u0000b                                        | a\\\\x00b
            DEL                           | a\\u007Fb                                        | a\\\\x7Fb
            C1 CSI                        | a\\u009B2Jb                                      | a\\\\x9B2Jb
            C1 NEL                        | a\\u0085b                                        | a\\\\x85b
            bidi override                 | a\\u202Eevil\\u202Cb                             | a\\\\u202Eevil\\\\u202Cb
            bidi isolate                  | a\\u2066b\\u2069                                 | a\\\\u2066b\\\\u2069
            zero-width space              | ad\\u200Bmin                                     | ad\\\\u200Bmin
            byte-order mark               | \\uFEFFx                                         | \\\\uFEFFx
            line separator                | a\\u2028b                                        | a\\\\u2028b
            paragraph separator           | a\\u2029b                                        | a\\\\u2029b
            lone high surrogate           | a\\uD83Db                                        | a\\\\uD83Db
            tag character (supplementary) | a\\uDB40\\uDC01b                                 | a\\\\U000E0001b
            empty                         | ""                                               | ""
            """)
    void escapesWhatATerminalOrALogReaderActsOn(String row, String input, String printed) {
        String in = unescapeJava(input);
        String expected = unescapeJava(printed);
        assertThat(Printable.escape(in)).as(row).isEqualTo(expected);
        assertThat(Printable.isSafe(in)).as(row + ": safe").isEqualTo(in.equals(expected));
        assertThat(Printable.isSafe(Printable.escape(in))).as(row + ": the escaped text is safe").isTrue();
    }

    @Test
    void everyCharacterUpToU3000IsEitherKeptVisibleOrEscaped() {
        IntStream.range(0, 0x3000).forEach(cp -> {
            String s = Character.toString(cp);
            String e = Printable.escape(s);
            int type = Character.getType(cp);
            boolean invisible = type == Character.CONTROL || type == Character.FORMAT
                    || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR
                    || type == Character.SURROGATE || type == Character.UNASSIGNED;
            if (invisible) {
                assertThat(e).as("U+%04X", cp).startsWith("\\").matches("\\\\(x[0-9A-F]{2}|u[0-9A-F]{4})");
            } else {
                assertThat(e).as("U+%04X", cp).isEqualTo(s);
            }
        });
    }

    @Test
    void nullIsPrintedAsNull() {
        assertThat(Printable.escape(null)).isEqualTo("null");
    }

    /** The table's inputs are written with Java escapes ({@code \\uXXXX}, {@code \\n}, ...), so the CSV stays readable. */
    private static String unescapeJava(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\' || i + 1 == s.length()) {
                b.append(c);
                continue;
            }
            char n = s.charAt(++i);
            switch (n) {
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case '\\' -> b.append('\\');
                case 'u' -> {
                    b.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16));
                    i += 4;
                }
                default -> b.append('\\').append(n);
            }
        }
        return b.toString();
    }
}
