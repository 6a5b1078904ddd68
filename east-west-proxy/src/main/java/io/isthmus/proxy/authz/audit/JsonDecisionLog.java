package io.isthmus.proxy.authz.audit;

import java.io.IOException;
import java.io.StringWriter;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.DecisionLog;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The decision log: one JSON line per authorization decision (format version {@value DecisionLogFormat#VERSION},
 * a documented interface: {@code docs/decision-log.md}, read back by {@link DecisionLogReader}), written by one
 * background thread, plus the counters {@code isthmus_authz_decisions_total{decision,reason}} (denials by reason
 * are the proxy's {@code isthmus_authz_denials_total{reason}}: two meters under one Prometheus name would hide one
 * of them) and the would-be denials of observe mode and dry-run policies,
 * {@code isthmus_authz_observe_would_deny_total{destination,source_trust_domain,reason}} and
 * {@code isthmus_authz_dry_run_would_deny_total{destination,source_trust_domain,reason,policy}}. Their labels are
 * bounded: destinations are this cluster's services (a request for anything else is refused before policy),
 * source trust domains are federated ones (the TLS handshake refuses the rest), policies are the dry-run policies
 * an operator wrote.
 *
 * <p>{@link #record} runs on the event loop: it takes the time, bumps the counters and offers a small event to a
 * bounded queue; serialization and I/O happen on the writer thread. When the queue is full (the sink cannot keep
 * up) the line is dropped, never blocking traffic, and counted in {@code isthmus_authz_audit_dropped_total}; the
 * decision counters still count it. An example line:
 *
 * <pre>
 * {"version":1,"time":"2026-11-23T10:00:00.123Z","decision":"allow","reason":"allowed","mode":"observe",
 *  "policy":"billing/observe","rule":"spec.mode","caller":"spiffe://a.acme.internal/ns/shop/sa/cart",
 *  "caller_trust_domain":"a.acme.internal","source_cluster":"a",
 *  "peer_gateway":"spiffe://a.acme.internal/ns/isthmus-system/sa/isthmus-gateway",
 *  "destination":"payments.billing.svc.clusterset.local","service":"payments","namespace":"billing",
 *  "destination_cluster":"b","port":8080,"protocol":"http","method":"GET","path":"/v1/pay/42",
 *  "observed":{"decision":"deny","reason":"no-matching-allow","policy":null,"rule":null},
 *  "audited":false,"audit_matches":[]}
 * </pre>
 *
 * The path is the normalized one policy saw, without its query string (it may carry secrets; policies never match
 * on it). Thread-safe.
 */
public final class JsonDecisionLog implements DecisionLog, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(JsonDecisionLog.class);
    private static final JsonFactory JSON = new JsonFactory();

    private final Clock clock;
    private final AuditSink sink;
    private final MeterRegistry registry;
    private final Optional<String> localCluster;
    private final ClusterNames clusters;
    private final LineQueue<Event> queue;
    private final Map<String, Counter> decisions = new ConcurrentHashMap<>();
    private final Map<String, Counter> wouldDeny = new ConcurrentHashMap<>();
    private final Counter dropped;
    private final Counter writeErrors;
    private final List<String> lines = new ArrayList<>();
    private volatile boolean closed;

    private record Event(Instant time, AccessRequest request, Decision decision) {
    }

    /**
     * @param capacity lines that may wait for the writer before new ones are dropped
     */
    public JsonDecisionLog(Clock clock, AuditSink sink, MeterRegistry registry, int capacity) {
        this(clock, sink, registry, capacity, Optional.empty(), ClusterNames.NONE);
    }

    /**
     * @param localCluster this gateway's cluster: the destination cluster of every decision it logs
     * @param clusters     the cluster of a caller's trust domain
     */
    public JsonDecisionLog(Clock clock, AuditSink sink, MeterRegistry registry, int capacity,
            Optional<String> localCluster, ClusterNames clusters) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.sink = Objects.requireNonNull(sink, "sink");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.localCluster = Objects.requireNonNull(localCluster, "localCluster");
        this.clusters = Objects.requireNonNull(clusters, "clusters");
        this.dropped = Counter.builder("isthmus.authz.audit.dropped")
                .description("Audit lines dropped because the audit sink could not keep up").register(registry);
        this.writeErrors = Counter.builder("isthmus.authz.audit.write.errors")
                .description("Failed writes to the audit sink").register(registry);
        this.queue = new LineQueue<>("isthmus-authz-audit", capacity, this::writeBatch);
    }

    @Override
    public void record(AccessRequest request, Decision decision) {
        String outcome = decision.allowed() ? "allow" : "deny";
        String reason = reason(decision);
        decisions.computeIfAbsent(outcome + '|' + reason, k -> Counter.builder("isthmus.authz.decisions")
                .description("Authorization decisions by outcome and reason code")
                .tag("decision", outcome).tag("reason", reason).register(registry)).increment();
        decision.observed().filter(d -> !d.allowed()).ifPresent(d -> countWouldDeny("observe", request, d));
        decision.dryRun().filter(d -> !d.allowed()).ifPresent(d -> countWouldDeny("dry.run", request, d));
        if (!queue.offer(new Event(clock.instant(), request, decision))) {
            dropped.increment();
        }
    }

    private void countWouldDeny(String kind, AccessRequest request, Decision verdict) {
        String destination = request.destination().host();
        String td = request.source().trustDomain().name();
        String reason = reason(verdict);
        boolean dry = kind.equals("dry.run");
        String key = kind + '|' + destination + '|' + td + '|' + reason + '|' + (dry ? verdict.policy() : "");
        wouldDeny.computeIfAbsent(key, k -> {
            Counter.Builder b = Counter.builder("isthmus.authz." + kind + ".would.deny")
                    .tag("destination", destination).tag("source_trust_domain", td).tag("reason", reason);
            if (dry) {
                b.description("Requests the dry-run policies would deny (they were not denied), by the policy that "
                        + "would deny them (empty: no dry-run ALLOW matched)").tag("policy", verdict.policy());
            } else {
                b.description("Requests allowed in observe mode that the policies in force would deny");
            }
            return b.register(registry);
        }).increment();
    }

    /** The stable reason code: {@code allowed}, or the {@link io.isthmus.proxy.authz.DenyReason} code. */
    public static String reason(Decision decision) {
        return switch (decision) {
            case Decision.Allowed a -> "allowed";
            case Decision.Denied d -> d.reason().code();
        };
    }

    /** Serializes one decision as a JSON line (no terminator) of format {@value DecisionLogFormat#VERSION}. */
    public static String toJson(Instant time, AccessRequest r, Decision d) {
        return toJson(time, r, d, Optional.empty(), ClusterNames.NONE);
    }

    /** Serializes one decision as a JSON line (no terminator), naming the source and destination clusters. */
    public static String toJson(Instant time, AccessRequest r, Decision d, Optional<String> localCluster,
            ClusterNames clusters) {
        StringWriter w = new StringWriter(448);
        try (JsonGenerator g = JSON.createGenerator(w)) {
            g.writeStartObject();
            g.writeNumberField(DecisionLogFormat.VERSION_FIELD, DecisionLogFormat.VERSION);
            g.writeStringField("time", time.toString());
            verdict(g, d);
            g.writeStringField("mode", d.observing() ? "observe" : "enforce");
            g.writeStringField("caller", r.source().toString());
            g.writeStringField("caller_trust_domain", r.source().trustDomain().name());
            nullable(g, "source_cluster", clusters.of(r.source().trustDomain()));
            nullable(g, "peer_gateway", r.peerGateway().map(Object::toString));
            g.writeStringField("destination", r.destination().host());
            g.writeStringField("service", r.destination().service());
            g.writeStringField("namespace", r.destination().namespace());
            nullable(g, "destination_cluster", localCluster);
            g.writeNumberField("port", r.port());
            g.writeStringField("protocol", r.method().isPresent() ? "http" : "tcp");
            if (r.method().isPresent()) {
                g.writeStringField("method", r.method().get());
            }
            if (r.path().isPresent()) {
                g.writeStringField("path", withoutQuery(r.path().get()));
            }
            if (d.observed().isPresent()) {
                g.writeObjectFieldStart("observed");
                verdict(g, d.observed().get());
                detail(g, d.observed().get());
                g.writeEndObject();
            }
            if (d.dryRun().isPresent()) {
                g.writeObjectFieldStart("dry_run");
                verdict(g, d.dryRun().get());
                g.writeEndObject();
            }
            g.writeBooleanField("audited", !d.auditMatches().isEmpty());
            g.writeArrayFieldStart("audit_matches");
            for (String m : d.auditMatches()) {
                g.writeString(m);
            }
            g.writeEndArray();
            detail(g, d);
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException("writing JSON to a StringWriter cannot fail", e);
        }
        return w.toString();
    }

    private static void verdict(JsonGenerator g, Decision d) throws IOException {
        g.writeStringField("decision", d.allowed() ? "allow" : "deny");
        g.writeStringField("reason", reason(d));
        nullable(g, "policy", Optional.of(d.policy()).filter(p -> !p.isEmpty()));
        nullable(g, "rule", Optional.of(d.rule()).filter(p -> !d.policy().isEmpty()));
    }

    private static void detail(JsonGenerator g, Decision d) throws IOException {
        if (d instanceof Decision.Denied denied) {
            g.writeStringField("detail", denied.detail());
        }
    }

    private static void nullable(JsonGenerator g, String field, Optional<String> value) throws IOException {
        if (value.isPresent()) {
            g.writeStringField(field, value.get());
        } else {
            g.writeNullField(field);
        }
    }

    private static String withoutQuery(String path) {
        int q = path.indexOf('?');
        return q < 0 ? path : path.substring(0, q);
    }

    /** On the queue's writer thread. */
    private void writeBatch(List<Event> batch, boolean caughtUp) {
        try {
            for (Event e : batch) {
                lines.add(toJson(e.time(), e.request(), e.decision(), localCluster, clusters));
            }
        } catch (RuntimeException e) {
            LOG.errorf(e, "audit log: could not serialize %d decisions", batch.size());
        }
        write(lines, caughtUp);
        lines.clear();
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
        queue.close();
        try {
            sink.close();
        } catch (IOException e) {
            LOG.errorf("audit log: closing the sink failed: %s", e);
        }
    }
}
