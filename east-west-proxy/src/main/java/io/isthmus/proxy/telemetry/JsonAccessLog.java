package io.isthmus.proxy.telemetry;

import java.io.IOException;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import io.isthmus.proxy.authz.audit.AuditSink;
import io.isthmus.proxy.authz.audit.LineQueue;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The JSON access log: one line per request answered, per tunnel ended and per passthrough connection, at both
 * listeners. {@link #record} runs
 * on the event loop and only offers the entry to a bounded {@link LineQueue}; one writer thread, waking on the
 * queue's tick, serializes and writes. When the sink cannot keep up, lines are dropped (never traffic) and counted in
 * {@code isthmus_access_log_dropped_total}.
 * A line:
 *
 * <pre>
 * {"time":"2026-12-04T23:00:00.123Z","kind":"request","direction":"ingress","source_cluster":"alpha",
 *  "destination_cluster":"beta","source_trust_domain":"alpha.acme.internal",
 *  "destination_service":"payments.billing.svc.clusterset.local","code":200,
 *  "caller":"spiffe://alpha.acme.internal/ns/shop/sa/checkout",
 *  "peer_gateway":"spiffe://alpha.acme.internal/ns/isthmus-system/sa/isthmus-gateway","method":"GET",
 *  "path":"/charge","protocol":"h2","duration_us":1840,"bytes_in":0,"bytes_out":312,
 *  "upstream":"10.0.3.7:8080","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
 * </pre>
 *
 * A passthrough connection's line has {@code "kind":"passthrough"}, {@code "caller":"unknown"}, the {@code sni} it
 * was routed by and its {@code decision}; {@code time} is when it opened and {@code duration_us} how long it stood.
 *
 * Absent facts are left out. Thread-safe.
 */
public final class JsonAccessLog implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(JsonAccessLog.class);
    private static final JsonFactory JSON = new JsonFactory();

    private final AuditSink sink;
    private final LineQueue<AccessLogEntry> queue;
    private final Counter dropped;
    private final List<String> lines = new ArrayList<>();
    /** The writer thread's line buffer and generator (see {@link #line}). */
    private final StringWriter buffer = new StringWriter(512);
    private JsonGenerator generator;
    private volatile boolean closed;

    /** @param sink where lines go (a file, or a log category); written by this log's one writer thread only */
    public JsonAccessLog(AuditSink sink, MeterRegistry registry, int capacity) {
        this.sink = sink;
        this.dropped = Counter.builder("isthmus_access_log_dropped")
                .description("Access log lines dropped because the sink could not keep up").register(registry);
        this.queue = new LineQueue<>("isthmus-access-log", capacity, this::write);
    }

    public void record(AccessLogEntry entry) {
        if (!queue.offer(entry)) {
            dropped.increment();
        }
    }

    public static String toJson(AccessLogEntry e) {
        StringWriter w = new StringWriter(512);
        try (JsonGenerator g = JSON.createGenerator(w)) {
            fields(g, e);
        } catch (IOException ex) {
            throw new IllegalStateException("writing JSON to a StringWriter cannot fail", ex);
        }
        return w.toString();
    }

    private static void fields(JsonGenerator g, AccessLogEntry e) throws IOException {
        RequestLabels l = e.labels();
        g.writeStartObject();
        g.writeStringField("time", e.time().toString());
        g.writeStringField("kind", e.kind());
        g.writeStringField("direction", l.direction());
        g.writeStringField("source_cluster", l.sourceCluster());
        g.writeStringField("destination_cluster", l.destinationCluster());
        g.writeStringField("source_trust_domain", l.sourceTrustDomain());
        g.writeStringField("destination_service", l.destinationService());
        g.writeNumberField("code", l.code());
        g.writeStringField("caller", e.caller());
        optional(g, "peer_gateway", e.peerGateway());
        optional(g, "method", e.method());
        optional(g, "path", e.path());
        g.writeStringField("protocol", e.protocol());
        g.writeNumberField("duration_us", e.durationMicros());
        g.writeNumberField("bytes_in", e.bytesIn());
        g.writeNumberField("bytes_out", e.bytesOut());
        optional(g, "upstream", e.upstream());
        optional(g, "trace_id", e.traceId());
        optional(g, "reason", e.reason());
        optional(g, "sni", e.serverName());
        optional(g, "decision", e.decision());
        g.writeEndObject();
    }

    /**
     * One line, by the writer thread's reused generator: creating a generator, its writer and its buffers for every
     * line cost about a sixth of this thread's time.
     */
    private String line(AccessLogEntry e) throws IOException {
        if (generator == null) {
            generator = JSON.createGenerator(buffer);
            generator.setRootValueSeparator(null);
        }
        try {
            fields(generator, e);
            generator.flush();
            return buffer.toString();
        } catch (IOException | RuntimeException ex) {
            // A line cut short leaves the generator inside an object: start the next line with a new one.
            generator = null;
            throw ex;
        } finally {
            buffer.getBuffer().setLength(0);
        }
    }

    private static void optional(JsonGenerator g, String field, Optional<String> value) throws IOException {
        if (value.isPresent()) {
            g.writeStringField(field, value.get());
        }
    }

    /** On the queue's writer thread. */
    private void write(List<AccessLogEntry> batch, boolean caughtUp) {
        try {
            for (AccessLogEntry e : batch) {
                lines.add(line(e));
            }
            sink.write(lines);
            if (caughtUp) {
                sink.flush();
            }
        } catch (IOException | RuntimeException e) {
            LOG.warnf("access log: %d lines could not be written: %s", batch.size(), e.toString());
        } finally {
            lines.clear();
        }
    }

    /** Stops accepting lines, writes what is queued, and closes the sink. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        queue.close();
        try {
            sink.close();
        } catch (IOException e) {
            LOG.warnf("access log: closing the sink failed: %s", e.toString());
        }
    }
}
