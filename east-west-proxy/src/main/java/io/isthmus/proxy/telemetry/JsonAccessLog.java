package io.isthmus.proxy.telemetry;

import java.io.IOException;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import io.isthmus.proxy.authz.audit.AuditSink;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The JSON access log: one line per request answered and per tunnel ended, at both listeners. {@link #record} runs
 * on the event loop and only offers the entry to a bounded queue; one writer thread serializes and writes. When the
 * sink cannot keep up, lines are dropped (never traffic) and counted in {@code isthmus_access_log_dropped_total}.
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
 * Absent facts are left out. Thread-safe.
 */
public final class JsonAccessLog implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(JsonAccessLog.class);
    private static final JsonFactory JSON = new JsonFactory();
    private static final int BATCH = 512;

    private final AuditSink sink;
    private final BlockingQueue<AccessLogEntry> queue;
    private final Counter dropped;
    private final Thread writer;
    private volatile boolean closed;

    /** @param sink where lines go (a file, or a log category); written by this log's one writer thread only */
    public JsonAccessLog(AuditSink sink, MeterRegistry registry, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("access log queue capacity must be at least 1, got " + capacity);
        }
        this.sink = sink;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.dropped = Counter.builder("isthmus_access_log_dropped")
                .description("Access log lines dropped because the sink could not keep up").register(registry);
        this.writer = new Thread(this::run, "isthmus-access-log");
        this.writer.setDaemon(true);
        this.writer.start();
    }

    public void record(AccessLogEntry entry) {
        if (closed || !queue.offer(entry)) {
            dropped.increment();
        }
    }

    public static String toJson(AccessLogEntry e) {
        StringWriter w = new StringWriter(512);
        try (JsonGenerator g = JSON.createGenerator(w)) {
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
            g.writeEndObject();
        } catch (IOException ex) {
            throw new IllegalStateException("writing JSON to a StringWriter cannot fail", ex);
        }
        return w.toString();
    }

    private static void optional(JsonGenerator g, String field, Optional<String> value) throws IOException {
        if (value.isPresent()) {
            g.writeStringField(field, value.get());
        }
    }

    private void run() {
        List<AccessLogEntry> batch = new ArrayList<>(BATCH);
        List<String> lines = new ArrayList<>(BATCH);
        while (!closed || !queue.isEmpty()) {
            try {
                AccessLogEntry first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, BATCH - 1);
                for (AccessLogEntry e : batch) {
                    lines.add(toJson(e));
                }
                sink.write(lines);
                if (queue.isEmpty()) {
                    sink.flush();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (IOException | RuntimeException e) {
                LOG.warnf("access log: %d lines could not be written: %s", batch.size(), e.toString());
            } finally {
                batch.clear();
                lines.clear();
            }
        }
    }

    /** Stops accepting lines, writes what is queued, and closes the sink. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            writer.join(TimeUnit.SECONDS.toMillis(10));
            sink.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            LOG.warnf("access log: closing the sink failed: %s", e.toString());
        }
    }
}
