package io.isthmus.gateway.status;

import java.time.Instant;
import java.util.Objects;

/** One recent denial at this gateway's ingress: who was refused what, and the stable reason code. */
public record DenialView(Instant time, String reason, String caller, String destination, String request,
        String policy, String detail) {
    public DenialView {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(caller, "caller");
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(detail, "detail");
    }
}
