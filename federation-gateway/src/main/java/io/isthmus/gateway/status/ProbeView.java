package io.isthmus.gateway.status;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A mutual-TLS probe of a peer's ingress with this gateway's own SVID, as the egress would connect.
 *
 * @param address  the ingress address the registry holds for the peer; empty when it exports nothing (then no
 *                 traffic goes there and nothing was probed)
 * @param peerId   the SPIFFE ID the ingress presented, once it verified against the peer's bundle
 * @param error    why the probe failed (connect, handshake, the peer refusing this gateway's SVID)
 */
public record ProbeView(Optional<String> address, boolean ok, Optional<String> peerId, Optional<String> error,
        long millis, Instant at) {
    public ProbeView {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(peerId, "peerId");
        Objects.requireNonNull(error, "error");
        Objects.requireNonNull(at, "at");
    }
}
