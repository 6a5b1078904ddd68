package io.isthmus.gateway.enrolment;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One JSON line per enrolment, renewal and admin decision, on the log category {@code isthmus.audit.enrolment}
 * (route it to its own file or collector). Never contains a token secret, a key or a CSR. Thread-safe.
 */
@ApplicationScoped
public class EnrolmentAudit {
    private static final Logger LOG = Logger.getLogger("isthmus.audit.enrolment");
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int RECENT = 200;

    private final Clock clock;
    private final Deque<String> recent = new ArrayDeque<>();

    @Inject
    public EnrolmentAudit(Clock clock) {
        this.clock = clock;
    }

    /** One decision; null fields are left out. */
    public record Entry(String action, boolean allowed, String code, String source, String principal, String identity,
            String tokenId, String serial, String detail) {
    }

    public void record(Entry e) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("ts", clock.instant().toString());
        n.put("action", e.action());
        n.put("decision", e.allowed() ? "allow" : "deny");
        put(n, "code", e.code());
        put(n, "source", e.source());
        put(n, "principal", e.principal());
        put(n, "identity", e.identity());
        put(n, "token", e.tokenId());
        put(n, "serial", e.serial());
        put(n, "detail", e.detail());
        String line = n.toString();
        LOG.info(line);
        synchronized (recent) {
            recent.addLast(line);
            if (recent.size() > RECENT) {
                recent.removeFirst();
            }
        }
    }

    /** The most recent lines, oldest first (for tests and the admin API). */
    public List<String> recent() {
        synchronized (recent) {
            return List.copyOf(recent);
        }
    }

    private static void put(ObjectNode n, String k, String v) {
        if (v != null) {
            n.put(k, v);
        }
    }
}
