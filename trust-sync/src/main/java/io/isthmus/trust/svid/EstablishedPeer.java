package io.isthmus.trust.svid;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/**
 * What to do with a connection that is already open when the federation's trust changes (a bundle lost a CA, a
 * root was removed): its peer is verified again with {@link X509SvidVerifier#verifyEstablished}, and the verdict is
 * one of three. Pure; the caller does the I/O.
 *
 * <ul>
 * <li>{@link Keep}: the peer's signer is still trusted. A leaf that expired since the handshake does not end a
 * connection (TLS checks validity when it authenticates, as Envoy and the JDK do).</li>
 * <li>{@link Drain}: the signer is no longer trusted, but the peer's leaf had already expired: what a
 * <em>retirement</em> looks like (a CA leaves its bundle once everything it signed has expired). No new request or
 * stream is accepted on the connection; those in flight finish, within a drain deadline. This is what keeps a
 * long-lived gRPC stream alive through a rotation.</li>
 * <li>{@link Close}: the signer is no longer trusted while the peer's leaf is still valid: a <em>revocation</em>
 * (a CA withdrawn early, a compromised root removed). The connection ends now.</li>
 * </ul>
 */
public sealed interface EstablishedPeer {

    record Keep() implements EstablishedPeer {
    }

    record Drain(SvidRejection reason, String message) implements EstablishedPeer {
    }

    record Close(SvidRejection reason, String message) implements EstablishedPeer {
    }

    /** The verdict for the peer that presented {@code chain} (leaf first), under the trust in force now. */
    static EstablishedPeer recheck(X509SvidVerifier verifier, List<X509Certificate> chain, Instant now) {
        return decide(verifier.verifyEstablished(chain), chain == null || chain.isEmpty() ? null : chain.get(0), now);
    }

    /** The rule itself, for a verdict already computed. */
    static EstablishedPeer decide(SvidVerdict established, X509Certificate leaf, Instant now) {
        if (established instanceof SvidVerdict.Rejected r) {
            if (leaf != null && leaf.getNotAfter().toInstant().isBefore(now)) {
                return new Drain(r.reason(), r.message() + " (the peer's SVID expired at "
                        + leaf.getNotAfter().toInstant() + ", before its signer left: draining, not cutting)");
            }
            return new Close(r.reason(), r.message());
        }
        return new Keep();
    }
}
