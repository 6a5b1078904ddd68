package io.isthmus.proxy.authz.suggest;

import java.time.Instant;
import java.util.Optional;

import io.isthmus.proxy.authz.audit.DecisionRecord;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;

/** Decision-log records for tests, as a gateway in observe mode (or enforcing) would have logged them. */
public final class Records {
    public static final Instant T0 = Instant.parse("2026-11-23T10:00:00Z");
    private static final DecisionRecord.Verdict OBSERVE = new DecisionRecord.Verdict(true, "allowed",
            Optional.of("shop/observe"), Optional.of("spec.mode"));
    private static final DecisionRecord.Verdict WOULD_DENY = new DecisionRecord.Verdict(false, "no-matching-allow",
            Optional.empty(), Optional.empty());

    private Records() {
    }

    /** An HTTP request allowed in observe mode. */
    public static DecisionRecord http(String caller, String service, int port, String method, String path) {
        return http(T0, caller, service, port, method, path);
    }

    public static DecisionRecord http(Instant time, String caller, String service, int port, String method,
            String path) {
        return new DecisionRecord(time, OBSERVE, true, SpiffeId.parse(caller), Optional.empty(), Optional.empty(),
                mesh(service), Optional.empty(), port, Optional.of(method), Optional.of(path),
                Optional.of(WOULD_DENY), Optional.empty());
    }

    /** A TCP connection allowed in observe mode. */
    public static DecisionRecord tcp(String caller, String service, int port) {
        return new DecisionRecord(T0, OBSERVE, true, SpiffeId.parse(caller), Optional.empty(), Optional.empty(),
                mesh(service), Optional.empty(), port, Optional.empty(), Optional.empty(), Optional.of(WOULD_DENY),
                Optional.empty());
    }

    /** A request the enforced policies denied with {@code reason}. */
    public static DecisionRecord denied(String caller, String service, int port, String method, String path,
            String reason) {
        return new DecisionRecord(T0, new DecisionRecord.Verdict(false, reason, Optional.empty(), Optional.empty()),
                false, SpiffeId.parse(caller), Optional.empty(), Optional.empty(), mesh(service), Optional.empty(),
                port, Optional.of(method), Optional.of(path), Optional.empty(), Optional.empty());
    }

    /** {@code orders.shop} as a mesh name. */
    static MeshName mesh(String service) {
        String[] p = service.split("\\.");
        return MeshName.of(p[0], p[1]);
    }
}
