package io.isthmus.proxy.egress;

import java.net.InetSocketAddress;
import java.util.Optional;

import io.isthmus.proxy.http.Http2Support;
import io.isthmus.proxy.outlier.OutlierDetector;
import io.isthmus.registry.ExportedService;
import io.isthmus.registry.IngressAddress;
import io.isthmus.registry.ServiceResolver;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.tls.TlsContexts;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.Attribute;
import io.netty.util.AttributeKey;

/**
 * One cluster's ingress the egress may send a request to, with the trust domain its gateway must prove: the TLS
 * handshake already verified the peer's SVID against the federation (root, name constraints, bundles); this adds
 * that it is the SVID of the cluster that exports the service, not of any other federated gateway that answers at
 * that address.
 */
public record PeerIngress(IngressAddress ingress, String cluster, Optional<TrustDomain> trustDomain) {
    private static final AttributeKey<Optional<SpiffeId>> PEER = AttributeKey.valueOf("isthmus.upstream-peer");

    public static PeerIngress of(ExportedService export, ServiceResolver resolver) {
        return new PeerIngress(export.ingress(), export.key().cluster(), resolver.trustDomainOf(export.key().cluster()));
    }

    /** What the outlier detector tracks: the cluster at its announced ingress. */
    public String key() {
        return cluster + "@" + ingress;
    }

    /**
     * Whether {@code outliers} has ejected this cluster's ingress now. While it tracks no cluster at all (the usual
     * case) the answer is no, and the key is not built: this runs for every candidate of every request.
     */
    public boolean ejectedBy(OutlierDetector outliers) {
        return outliers.tracksAny() && outliers.ejected(key());
    }

    /** Tells {@code outliers} that a connect here succeeded: clears this ingress's record, if there is any record. */
    public void connectSucceeded(OutlierDetector outliers) {
        if (outliers.tracksAny()) {
            outliers.connectSucceeded(key());
        }
    }

    public InetSocketAddress address() {
        return InetSocketAddress.createUnresolved(ingress.host(), ingress.port());
    }

    /**
     * Null when the connection's peer may serve this cluster's exports; otherwise why not. {@code upstream} is a
     * handshaken TLS connection or an HTTP/2 stream of one.
     */
    public String mismatch(Channel upstream) {
        if (trustDomain.isEmpty()) {
            return null;
        }
        Optional<SpiffeId> peer = peerOf(Http2Support.connection(upstream));
        if (peer.isPresent() && peer.get().memberOf(trustDomain.get())) {
            return null;
        }
        return "the gateway there is " + peer.map(SpiffeId::toString).orElse("not a SPIFFE identity")
                + ", but cluster " + cluster + "'s ingress must be served by a gateway of " + trustDomain.get();
    }

    /** The verified peer of a pooled connection, read from its TLS session once and kept on the channel. */
    private static Optional<SpiffeId> peerOf(Channel connection) {
        Attribute<Optional<SpiffeId>> known = connection.attr(PEER);
        Optional<SpiffeId> peer = known.get();
        if (peer == null) {
            SslHandler ssl = connection.pipeline().get(SslHandler.class);
            peer = ssl == null ? Optional.empty() : TlsContexts.peerId(ssl.engine().getSession());
            known.set(peer);
        }
        return peer;
    }

    /** Closes a connection that failed {@link #mismatch} (the whole connection, for an HTTP/2 stream). */
    static void discard(Channel upstream) {
        Http2Support.connection(upstream).close();
    }

    @Override
    public String toString() {
        return ingress.toString();
    }
}
