package io.isthmus.registry.xsite;

import java.net.InetSocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;

import org.jboss.logging.Logger;
import org.jgroups.blocks.cs.Connection;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.tls.TlsContexts;

/**
 * Re-verifies the peers of a channel's open TLS connections and closes those that no longer verify. A trust
 * manager only runs at the handshake, so without this an intermediate removed from a bundle (a revocation) would
 * end only connections made after the removal; an open bridge from a revoked site would keep replicating.
 *
 * <p>Runs on the caller's thread and may block briefly (reading a TLS session waits for a handshake in progress;
 * closing a socket); {@link RegistryNode#revalidatePeers()} therefore runs it on its own thread, never on a
 * JGroups thread. Thread-safe.
 */
final class PeerRevalidation {
    private static final Logger LOG = Logger.getLogger(PeerRevalidation.class);

    /** The handshake's rule, applied again to an established connection; pure, no I/O. */
    @FunctionalInterface
    interface PeerCheck {
        /**
         * @param remote the peer's socket address
         * @param dialed true when this side opened the connection (so {@code remote} is the peer's listening address)
         */
        SvidVerdict recheck(X509Certificate[] chain, InetSocketAddress remote, boolean dialed);
    }

    private final String site;
    private final String channel;
    private final PeerCheck check;
    private final AtomicLong revoked = new AtomicLong();

    /** @param channel names the channel in logs ("bridge", "local cluster") */
    PeerRevalidation(String site, String channel, PeerCheck check) {
        this.site = site;
        this.channel = channel;
        this.check = check;
    }

    /** Connections closed so far because their peer no longer verified. */
    long revoked() {
        return revoked.get();
    }

    /** Re-checks every open connection of {@code transports}; closes and returns those whose peer fails. */
    List<RevokedConnection> sweep(Collection<TlsTcp> transports) {
        List<RevokedConnection> closed = new ArrayList<>();
        for (TlsTcp tcp : transports) {
            for (Connection conn : tcp.openConnections()) {
                Optional<SSLSocket> ssl = TlsTcp.tlsSocketOf(conn);
                if (ssl.isEmpty() || ssl.get().isClosed()) {
                    continue;
                }
                RevokedConnection r;
                try {
                    r = recheck(ssl.get());
                } catch (RuntimeException e) {
                    LOG.warnf(e, "site %s: cannot re-check %s connection %s; left open", site, channel, conn);
                    continue;
                }
                if (r != null) {
                    tcp.closeRevoked(conn);
                    revoked.incrementAndGet();
                    LOG.warnf("site %s closed its %s connection with %s (%s): the peer no longer verifies: %s: %s", site,
                            channel, r.remote(), r.peer().map(Object::toString).orElse("no SPIFFE ID"), r.reason().label(),
                            r.message());
                    closed.add(r);
                }
            }
        }
        return closed;
    }

    /** The rejection of {@code ssl}'s peer under the current bundles, or null while it still verifies. */
    RevokedConnection recheck(SSLSocket ssl) {
        InetSocketAddress remote = new InetSocketAddress(ssl.getInetAddress(), ssl.getPort());
        SSLSession session = ssl.getSession();
        Optional<SpiffeId> peer = TlsContexts.peerId(session);
        X509Certificate[] chain;
        try {
            Certificate[] certs = session.getPeerCertificates();
            chain = new X509Certificate[certs.length];
            for (int i = 0; i < certs.length; i++) {
                chain[i] = (X509Certificate) certs[i];
            }
        } catch (SSLPeerUnverifiedException | ClassCastException e) {
            // No verified peer: the handshake failed or the socket closed meanwhile; JGroups drops such a connection.
            LOG.debugf("site %s: %s connection with %s has no verified peer (%s); skipped", site, channel, remote, e);
            return null;
        }
        SvidVerdict verdict = check.recheck(chain, remote, ssl.getUseClientMode());
        if (verdict instanceof SvidVerdict.Rejected rejected) {
            return new RevokedConnection(channel, remote, peer, rejected.reason(), rejected.message());
        }
        return null;
    }
}
