package io.isthmus.registry.xsite;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.SvidRejection;

/**
 * An open connection closed by {@link RegistryNode#revalidatePeers()} because its peer no longer verifies.
 *
 * @param channel "bridge" or "local cluster"
 * @param remote the peer's socket address
 * @param peer the SPIFFE ID the peer presented at its handshake, when it had one
 * @param reason why it no longer verifies
 * @param message the verifier's explanation, for operators
 */
public record RevokedConnection(String channel, InetSocketAddress remote, Optional<SpiffeId> peer, SvidRejection reason,
        String message) {
    public RevokedConnection {
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(remote, "remote");
        Objects.requireNonNull(peer, "peer");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(message, "message");
    }
}
