package io.isthmus.gateway.status;

import java.time.Instant;
import java.util.Objects;

/**
 * A certificate authority this gateway relies on, and when it expires: a federation root, this cluster's
 * intermediate, or a CA in a peer's bundle.
 *
 * @param owner the trust domain it signs for ({@code federation} for a root)
 * @param kind  {@code root}, {@code intermediate} (this cluster's) or {@code peer-ca}
 */
public record CaView(String owner, String kind, String subject, String serial, Instant notAfter) {
    public CaView {
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(serial, "serial");
        Objects.requireNonNull(notAfter, "notAfter");
    }
}
