package io.isthmus.registry.xsite;

import java.io.DataInput;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;

import org.jboss.logging.Logger;
import org.jgroups.Address;
import org.jgroups.Event;
import org.jgroups.Message;
import org.jgroups.View;
import org.jgroups.blocks.cs.Connection;
import org.jgroups.protocols.relay.SiteAddress;
import org.jgroups.stack.MessageProcessingPolicy;
import org.jgroups.util.MaxOneThreadPerSender;
import org.jgroups.util.MessageBatch;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.tls.TlsContexts;

/**
 * The bridge transport: JGroups TCP whose every received message must come from a site whose configured trust
 * domain is the trust domain of the TLS connection it arrived on.
 *
 * <p>Why: TLS (with {@link BridgeTrustManager}) proves which trust domain is at the other end of a connection,
 * but RELAY2 learns a peer's <em>site name</em> from the JGroups addresses inside its messages, which the peer
 * writes itself. Without this check a legitimate member of the federation (say cluster-b, connecting to us) could
 * claim to be cluster-c and write cluster-c's registry keys. So, per connection, the peer's SPIFFE ID is read
 * from its TLS session when the connection is established; each message's sender is a {@link SiteAddress} naming
 * its site; a message whose site's configured trust domain differs from its connection's is dropped and counted.
 * The check runs on the connection's receiver thread, before the message is handed to the thread pool.
 */
final class BridgeTcp extends TlsTcp {
    private static final Logger LOG = Logger.getLogger(BridgeTcp.class);
    /** Set while a connection's bytes are being decoded: the trust domain proven on that connection (or none). */
    private static final ThreadLocal<Optional<TrustDomain>> RECEIVING_FROM = new ThreadLocal<>();

    private record Verified(Connection connection, Optional<TrustDomain> trustDomain) {
    }

    private final Map<Address, Verified> byPeer = new ConcurrentHashMap<>();
    private final Function<String, TrustDomain> trustDomainOfSite;
    private final AtomicLong dropped;
    private final MaxOneThreadPerSender perSender = new MaxOneThreadPerSender();

    /**
     * @param trustDomainOfSite the configured trust domain of a site name, or null for a site we do not know
     * @param dropped counts messages dropped for a site/trust-domain mismatch
     * @param onStart called once the transport runs, {@code onStop} before it stops (see {@link TlsTcp})
     */
    BridgeTcp(Function<String, TrustDomain> trustDomainOfSite, AtomicLong dropped, Consumer<TlsTcp> onStart,
            Consumer<TlsTcp> onStop) {
        super(onStart, onStop);
        this.trustDomainOfSite = trustDomainOfSite;
        this.dropped = dropped;
        msgProcessingPolicy(new SiteBindingPolicy(perSender));
        // TP.init() would otherwise replace the policy with a new one built from this name.
        message_processing_policy = null;
    }

    @Override
    public Object down(Event evt) {
        if (evt.getType() == Event.VIEW_CHANGE) {
            // TP tells only a MaxOneThreadPerSender it sees directly about departed members; ours is wrapped.
            perSender.viewChange(((View) evt.getArg()).getMembers());
        }
        return super.down(evt);
    }

    private static Optional<TrustDomain> trustDomainOf(Connection conn) {
        return tlsSocketOf(conn).flatMap(ssl -> TlsContexts.peerId(ssl.getSession())).map(SpiffeId::trustDomain);
    }

    @Override
    public void connectionEstablished(Connection conn) {
        super.connectionEstablished(conn);
        if (conn.peerAddress() != null) {
            byPeer.put(conn.peerAddress(), new Verified(conn, trustDomainOf(conn)));
        }
    }

    @Override
    public void connectionClosed(Connection conn) {
        if (conn.peerAddress() != null) {
            byPeer.computeIfPresent(conn.peerAddress(), (a, v) -> v.connection() == conn ? null : v);
        }
        super.connectionClosed(conn);
    }

    private Optional<TrustDomain> provenBy(Address sender) {
        Verified v = byPeer.get(sender);
        if (v != null) {
            return v.trustDomain();
        }
        try {
            if (srv != null && srv.hasConnection(sender)) {
                Connection conn = srv.getConnection(sender);
                Verified fresh = new Verified(conn, trustDomainOf(conn));
                byPeer.put(sender, fresh);
                return fresh.trustDomain();
            }
        } catch (Exception e) {
            LOG.debugf("no bridge connection for %s: %s", sender, e.getMessage());
        }
        return Optional.empty();
    }

    @Override
    public void receive(Address sender, byte[] data, int offset, int length) {
        RECEIVING_FROM.set(provenBy(sender));
        try {
            super.receive(sender, data, offset, length);
        } finally {
            RECEIVING_FROM.remove();
        }
    }

    @Override
    public void receive(Address sender, DataInput in, int len) throws Exception {
        RECEIVING_FROM.set(provenBy(sender));
        try {
            super.receive(sender, in, len);
        } finally {
            RECEIVING_FROM.remove();
        }
    }

    /** True when a message from {@code src}, decoded on the current thread, may be processed. */
    private boolean admit(Address src) {
        Optional<TrustDomain> proven = RECEIVING_FROM.get();
        if (proven == null) {
            return true; // not from the network (loopback of our own messages)
        }
        String site = src instanceof SiteAddress sa ? sa.getSite() : null;
        TrustDomain expected = site == null ? null : trustDomainOfSite.apply(site);
        if (expected != null && proven.isPresent() && expected.equals(proven.get())) {
            return true;
        }
        long n = dropped.incrementAndGet();
        if (n == 1 || n % 1000 == 0) {
            LOG.warnf("bridge dropped a message from %s claiming site '%s' on a connection authenticated as %s; the site's "
                    + "configured trust domain is %s (%d dropped so far)", src, site,
                    proven.map(Object::toString).orElse("nobody"), expected == null ? "unknown (not a configured site)" : expected, n);
        }
        return false;
    }

    /** Applies {@link #admit} before the default policy hands messages to the thread pool. */
    private final class SiteBindingPolicy implements MessageProcessingPolicy {
        private final MessageProcessingPolicy delegate;

        SiteBindingPolicy(MessageProcessingPolicy delegate) {
            this.delegate = delegate;
        }

        @Override
        public void init(org.jgroups.protocols.TP transport) {
            delegate.init(transport);
        }

        @Override
        public void reset() {
            delegate.reset();
        }

        @Override
        public void destroy() {
            delegate.destroy();
        }

        @Override
        public boolean loopback(Message msg, boolean oob) {
            return delegate.loopback(msg, oob);
        }

        @Override
        public boolean loopback(MessageBatch batch, boolean oob) {
            return delegate.loopback(batch, oob);
        }

        @Override
        public boolean process(Message msg, boolean oob) {
            return admit(msg.getSrc()) && delegate.process(msg, oob);
        }

        @Override
        public boolean process(MessageBatch batch, boolean oob) {
            return admit(batch.sender()) && delegate.process(batch, oob);
        }
    }
}
