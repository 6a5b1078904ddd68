package io.isthmus.trust.text;

import java.io.IOException;
import java.io.Writer;
import java.util.Objects;

/**
 * What a command-line tool writes to the operator's terminal, whatever it prints: every character {@link Printable}
 * escapes is written escaped, except line feeds, tabs and a carriage return that ends a line ({@code \r\n}). So no
 * answer a gateway relays (a peer's error text, a registration entry, a policy's detail) can move the cursor, erase or
 * overwrite a line, retitle the window or hide a link, even where a command forgot to escape it. Characters may arrive
 * split across calls (a surrogate pair, {@code \r} then {@code \n}): a pending one is held until the next call,
 * {@link #flush} or {@link #close}. Not thread-safe; wrap it in a {@link java.io.PrintWriter}, which locks.
 */
public final class TerminalWriter extends Writer {
    private final Writer out;
    /** A carriage return or a high surrogate waiting for the next character; 0 when none. */
    private char pending;

    public TerminalWriter(Writer out) {
        this.out = Objects.requireNonNull(out, "out");
    }

    @Override
    public void write(char[] buf, int off, int len) throws IOException {
        StringBuilder b = new StringBuilder(len + 8);
        for (int i = off; i < off + len; i++) {
            accept(buf[i], b);
        }
        out.write(b.toString());
    }

    private void accept(char c, StringBuilder b) {
        if (pending == '\r') {
            pending = 0;
            if (c == '\n') {
                b.append("\r\n");
                return;
            }
            b.append(Printable.escape("\r"));
        } else if (pending != 0) {
            char high = pending;
            pending = 0;
            if (Character.isLowSurrogate(c)) {
                b.append(Printable.escape(new String(new char[] {high, c})));
                return;
            }
            b.append(Printable.escape(String.valueOf(high)));
        }
        if (c == '\r' || Character.isHighSurrogate(c)) {
            pending = c;
        } else if (c == '\n' || c == '\t') {
            b.append(c);
        } else {
            b.append(Printable.escape(String.valueOf(c)));
        }
    }

    private void drain() throws IOException {
        if (pending != 0) {
            out.write(Printable.escape(String.valueOf(pending)));
            pending = 0;
        }
    }

    /** Writes a pending character as it stands (escaped), then flushes: a flush ends what was written so far. */
    @Override
    public void flush() throws IOException {
        drain();
        out.flush();
    }

    @Override
    public void close() throws IOException {
        drain();
        out.close();
    }
}
