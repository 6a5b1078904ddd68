package io.isthmus.proxy.authz.audit;

import java.io.IOException;
import java.io.StringWriter;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.DecisionLog;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The audit log: one JSON line per authorization decision, written by one background thread, plus the counters
 * {@code isthmus_authz_decisions_total{decision,reason}} (denials by reason are the proxy's
 * {@code isthmus_authz_denials_total{reason}}: two meters under one Prometheus name would hide one of them).
 *
 * <p>{@link #record} runs on the event loop: it takes the time, bumps the counters and offers a small event to a
 * bounded queue; serialization and I/O happen on the writer thread. When the queue is full (the sink cannot keep
 * up) the line is dropped, never blocking traffic, and counted in {@code isthmus_authz_audit_dropped_total}; the
 * decision counters still count it. Fields of a line:
 *
 * <pre>
 * {"time":"2026-11-23T10:00:00.123Z","decision":"deny","reason":"explicit-deny","policy":"billing/no-legacy",
 *  "rule":"rules[0]","caller":"spiffe://a.acme.internal/ns/shop/sa/cart","caller_trust_domain":"a.acme.internal",
 *  "peer_gateway":"spiffe://a.acme.internal/ns/isthmus-system/sa/isthmus-gateway",
 *  "destination":"payments.billing.svc.clusterset.local","service":"payments","namespace":"billing","port":8080,
 *  "method":"GET","path":"/v1/pay","audited":true,"audit_matches":["isthmus-system/audit-all"],"detail":"..."}
 * </pre>
 *
 * The path is logged without its query string (it may carry secrets; policies never match on it). Allowed
 * decisions have {@code "reason":"allowed"} and no detail. Thread-safe.
 */
public final class JsonDecisionLog implements DecisionLog, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(JsonDecisionLog.class);
    private static final JsonFactory JSON = new JsonFactory();
    private static final int BATCH = 512;
    private static final Event POISON = new Event(Instant.EPOCH, null, null);

    private final Clock clock;
    private final AuditSink sink;
    private final MeterRegistry registry;
    private final BlockingQueue<Event> queue;
    private final Map<String, Counter> decisions = new ConcurrentHashMap<>();
    private final Counter dropped;
    private final Counter writeErrors;
    private final Thread writer;
    private volatile boolean closed;

    private record Event(Instant time, AccessRequest request, Decision decision) {
    }

    /**
     * @param capacity lines that may wait for the writer before new ones are dropped
     */
    public JsonDecisionLog(Clock clock, AuditSink sink, MeterRegistry registry, int capacity) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.sink = Objects.requireNonNull(sink, "sink");
        this.registry = Objects.requireNonNull(registry, "registry");
        if (capacity < 1) {
            throw new IllegalArgumentException("audit queue capacity must be at least 1, got " + capacity);
        }
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.dropped = Counter.builder("isthmus.authz.audit.dropped")
                .description("Audit lines dropped because the audit sink could not keep up").register(registry);
        this.writeErrors = Counter.builder("isthmus.authz.audit.write.errors")
                .description("Failed writes to the audit sink").register(registry);
        this.writer = new Thread(this::run, "isthmus-authz-audit");
        this.writer.setDaemon(true);
        this.writer.start();
    }

    @Override
    public void record(AccessRequest request, Decision decision) {
        String outcome = decision.allowed() ? "allow" : "deny";
        String reason = reason(decision);
        decisions.computeIfAbsent(outcome + '|' + reason, k -> Counter.builder("isthmus.authz.decisions")
                .description("Authorization decisions by outcome and reason code")
                .tag("decision", outcome).tag("reason", reason).register(registry)).increment();
        if (closed || !queue.offer(new Event(clock.instant(), request, decision))) {
            dropped.increment();
        }
    }

    /** The stable reason code: {@code allowed}, or the {@link io.isthmus.proxy.authz.DenyReason} code. */
    public static String reason(Decision decision) {
        return switch (decision) {
            case Decision.Allowed a -> "allowed";
            case Decision.Denied d -> d.reason().code();
        };
    }

    /** Serializes one decision as a JSON line (no terminator). */
    public static String toJson(Instant time, AccessRequest r, Decision d) {
        StringWriter w = new StringWriter(384);
        try (JsonGenerator g = JSON.createGenerator(w)) {
            g.writeStartObject();
            g.writeStringField("time", time.toString());
            g.writeStringField("decision", d.allowed() ? "allow" : "deny");
            g.writeStringField("reason", reason(d));
            String policy = d instanceof Decision.Allowed a ? a.policy() : ((Decision.Denied) d).policy();
            String rule = d instanceof Decision.Allowed a ? a.rule() : ((Decision.Denied) d).rule();
            if (policy.isEmpty()) {
                g.writeNullField("policy");
            } else {
                g.writeStringField("policy", policy);
                g.writeStringField("rule", rule);
            }
            g.writeStringField("caller", r.source().toString());
            g.writeStringField("caller_trust_domain", r.source().trustDomain().name());
            if (r.peerGateway().isPresent()) {
                g.writeStringField("peer_gateway", r.peerGateway().get().toString());
            } else {
                g.writeNullField("peer_gateway");
            }
            g.writeStringField("destination", r.destination().host());
            g.writeStringField("service", r.destination().service());
            g.writeStringField("namespace", r.destination().namespace());
            g.writeNumberField("port", r.port());
            g.writeStringField("protocol", r.method().isPresent() ? "http" : "tcp");
            if (r.method().isPresent()) {
                g.writeStringField("method", r.method().get());
            }
            if (r.path().isPresent()) {
                g.writeStringField("path", withoutQuery(r.path().get()));
            }
            g.writeBooleanField("audited", !d.auditMatches().isEmpty());
            g.writeArrayFieldStart("audit_matches");
            for (String m : d.auditMatches()) {
                g.writeString(m);
            }
            g.writeEndArray();
            if (d instanceof Decision.Denied denied) {
                g.writeStringField("detail", denied.detail());
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException("writing JSON to a StringWriter cannot fail", e);
        }
        return w.toString();
    }

    private static String withoutQuery(String path) {
        int q = path.indexOf('?');
        return q < 0 ? path : path.substring(0, q);
    }

    private void run() {
        List<Event> batch = new ArrayList<>(BATCH);
        List<String> lines = new ArrayList<>(BATCH);
        boolean stop = false;
        while (!stop) {
            try {
                Event first = queue.poll(1, TimeUnit.SECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, BATCH - 1);
                for (Event e : batch) {
                    if (e == POISON) {
                        stop = true;
                    } else {
                        lines.add(toJson(e.time(), e.request(), e.decision()));
                    }
                }
                write(lines, queue.isEmpty() || stop);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stop = true;
            } catch (RuntimeException e) {
                LOG.errorf(e, "audit log: could not serialize %d decisions", batch.size());
            } finally {
                batch.clear();
                lines.clear();
            }
        }
    }

    private void write(List<String> lines, boolean flush) {
        try {
            if (!lines.isEmpty()) {
                sink.write(lines);
            }
            if (flush) {
                sink.flush();
            }
        } catch (IOException e) {
            writeErrors.increment();
            LOG.errorf("audit log: %d lines could not be written: %s", lines.size(), e);
        }
    }

    /** Stops accepting lines, writes what is queued, flushes and closes the sink. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            queue.put(POISON);
            writer.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            sink.close();
        } catch (IOException e) {
            LOG.errorf("audit log: closing the sink failed: %s", e);
        }
    }
}
