package io.isthmus.proxy.authz.audit;

import java.io.IOException;
import java.util.List;

/**
 * Where audit lines go. Called only from the audit log's single writer thread, never from the event loop, so it
 * may block. {@link #flush()} is called whenever the queue runs empty.
 */
public interface AuditSink extends AutoCloseable {
    /** Writes complete JSON lines (without line terminators), in order. */
    void write(List<String> lines) throws IOException;

    default void flush() throws IOException {
    }

    @Override
    default void close() throws IOException {
    }
}
