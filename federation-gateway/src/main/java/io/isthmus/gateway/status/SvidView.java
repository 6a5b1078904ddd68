package io.isthmus.gateway.status;

import java.time.Instant;
import java.util.Objects;

/** An X.509-SVID's identity and lifetime. */
public record SvidView(String spiffeId, String serial, Instant notBefore, Instant notAfter) {
    public SvidView {
        Objects.requireNonNull(spiffeId, "spiffeId");
        Objects.requireNonNull(serial, "serial");
        Objects.requireNonNull(notBefore, "notBefore");
        Objects.requireNonNull(notAfter, "notAfter");
    }
}
