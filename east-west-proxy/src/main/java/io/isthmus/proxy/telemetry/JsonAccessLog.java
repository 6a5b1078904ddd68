package io.isthmus.proxy.telemetry;

import java.io.IOException;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.SerializedString;

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

    // The field names, quoted and escaped once (Jackson otherwise escapes each name on every line).
    private static final SerializedString TIME = new SerializedString("time");
    private static final SerializedString KIND = new SerializedString("kind");
    private static final SerializedString DIRECTION = new SerializedString("direction");
    private static final SerializedString SOURCE_CLUSTER = new SerializedString("source_cluster");
    private static final SerializedString DESTINATION_CLUSTER = new SerializedString("destination_cluster");
    private static final SerializedString SOURCE_TRUST_DOMAIN = new SerializedString("source_trust_domain");
    private static final SerializedString DESTINATION_SERVICE = new SerializedString("destination_service");
    private static final SerializedString CALLER = new SerializedString("caller");
    private static final SerializedString PROTOCOL = new SerializedString("protocol");
    private static final SerializedString CODE = new SerializedString("code");
    private static final SerializedString DURATION_US = new SerializedString("duration_us");
    private static final SerializedString BYTES_IN = new SerializedString("bytes_in");
    private static final SerializedString BYTES_OUT = new SerializedString("bytes_out");
    private static final SerializedString PEER_GATEWAY = new SerializedString("peer_gateway");
    private static final SerializedString METHOD = new SerializedString("method");
    private static final SerializedString PATH = new SerializedString("path");
    private static final SerializedString UPSTREAM = new SerializedString("upstream");
    private static final SerializedString TRACE_ID = new SerializedString("trace_id");
    private static final SerializedString REASON = new SerializedString("reason");
    private static final SerializedString SNI = new SerializedString("sni");
    private static final SerializedString DECISION = new SerializedString("decision");

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
        string(g, TIME, e.time().toString());
        string(g, KIND, e.kind());
        string(g, DIRECTION, l.direction());
        string(g, SOURCE_CLUSTER, l.sourceCluster());
        string(g, DESTINATION_CLUSTER, l.destinationCluster());
        string(g, SOURCE_TRUST_DOMAIN, l.sourceTrustDomain());
        string(g, DESTINATION_SERVICE, l.destinationService());
        number(g, CODE, l.code());
        string(g, CALLER, e.caller());
        optional(g, PEER_GATEWAY, e.peerGateway());
        optional(g, METHOD, e.method());
        optional(g, PATH, e.path());
        string(g, PROTOCOL, e.protocol());
        number(g, DURATION_US, e.durationMicros());
        number(g, BYTES_IN, e.bytesIn());
        number(g, BYTES_OUT, e.bytesOut());
        optional(g, UPSTREAM, e.upstream());
        optional(g, TRACE_ID, e.traceId());
        optional(g, REASON, e.reason());
        optional(g, SNI, e.serverName());
        optional(g, DECISION, e.decision());
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

    private static void string(JsonGenerator g, SerializedString field, String value) throws IOException {
        g.writeFieldName(field);
        g.writeString(value);
    }

    private static void number(JsonGenerator g, SerializedString field, long value) throws IOException {
        g.writeFieldName(field);
        g.writeNumber(value);
    }

    private static void optional(JsonGenerator g, SerializedString field, Optional<String> value)
            throws IOException {
        if (value.isPresent()) {
            string(g, field, value.get());
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
