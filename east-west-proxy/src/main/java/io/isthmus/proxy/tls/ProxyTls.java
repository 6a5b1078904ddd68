package io.isthmus.proxy.tls;

import java.security.KeyStore;
import java.time.Clock;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

import javax.net.ssl.KeyManager;
import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedTrustManager;

import org.jboss.logging.Logger;

import io.isthmus.trust.bundle.BundleSource;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.EstablishedPeer;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;
import io.isthmus.trust.tls.SvidCertificateException;
import io.isthmus.trust.tls.SvidKeyManager;
import io.isthmus.trust.tls.SvidSource;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslCachingX509KeyManagerFactory;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.SimpleKeyManagerFactory;

/**
 * The three TLS contexts of a gateway's data plane, all presenting the gateway's current SVID (rotation needs no
 * rebuild: the key manager asks the {@link SvidSource} on every handshake) and all authenticating peers with the
 * federation's {@link X509SvidVerifier} (root, name constraints, live bundle allowlist):
 * <ul>
 * <li>{@link #ingress()}: server side of gateway-to-gateway traffic; a client certificate is required and must be
 * an SVID of any federated trust domain;</li>
 * <li>{@link #upstream()}: client side towards peer ingresses;</li>
 * <li>{@link #egress()}: server side for local callers; a client certificate is optional (callers without one
 * must present a bearer token) and, when sent, must be an SVID of the local trust domain.</li>
 * </ul>
 * BoringSSL (netty-tcnative) is used when it loads, the JDK's TLS otherwise.
 */
public final class ProxyTls {
    private static final Logger LOG = Logger.getLogger(ProxyTls.class);
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private final SslContext ingress;
    private final SslContext upstream;
    private final SslContext upstreamH2;
    private final SslContext egress;
    private final SslProvider provider;
    private final X509SvidVerifier verifier;
    private final X509ExtendedTrustManager peers;
    private final X509ExtendedTrustManager localCallers;

    private ProxyTls(SslContext ingress, SslContext upstream, SslContext upstreamH2, SslContext egress,
            SslProvider provider, X509SvidVerifier verifier, X509ExtendedTrustManager peers,
            X509ExtendedTrustManager localCallers) {
        this.upstreamH2 = upstreamH2;
        this.verifier = verifier;
        this.peers = peers;
        this.localCallers = localCallers;
        this.ingress = ingress;
        this.upstream = upstream;
        this.egress = egress;
        this.provider = provider;
    }

    /**
     * @param svid     the gateway's own SVID, read on every handshake
     * @param verifier the federation's SVID verifier (reads the live bundles)
     * @param local    this gateway's trust domain: local callers on the egress must belong to it
     */
    public static ProxyTls create(SvidSource svid, X509SvidVerifier verifier, TrustDomain local) {
        return create(svid, verifier, null, local);
    }

    /**
     * @param bundles the live bundles the verifier reads: when given, verified peer SVIDs are remembered while
     *                their trust domain's bundle stays the same ({@link CachingSvidTrustManager}); null verifies
     *                every handshake in full
     */
    public static ProxyTls create(SvidSource svid, X509SvidVerifier verifier, BundleSource bundles, TrustDomain local) {
        SslProvider provider = OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
        if (provider == SslProvider.JDK) {
            LOG.warnf("BoringSSL (netty-tcnative) is unavailable (%s); using the JDK's TLS, expect slower handshakes",
                    OpenSsl.unavailabilityCause());
        }
        X509ExtendedTrustManager anyFederated = bundles == null
                ? new SpiffeTrustManager(verifier, PeerPolicy.anyFederated())
                : new CachingSvidTrustManager(verifier, bundles, PeerPolicy.anyFederated(), Clock.systemUTC());
        X509ExtendedTrustManager localOnly = bundles == null
                ? new SpiffeTrustManager(verifier, PeerPolicy.memberOf(local))
                : new CachingSvidTrustManager(verifier, bundles, PeerPolicy.memberOf(local), Clock.systemUTC());
        try {
            SslContext ingress = SslContextBuilder.forServer(keyManagers(svid, provider)).sslProvider(provider)
                    .protocols(PROTOCOLS).clientAuth(ClientAuth.REQUIRE).trustManager(anyFederated)
                    .applicationProtocolConfig(io.isthmus.proxy.http.Http2Support.SERVER_ALPN).build();
            SslContext upstream = SslContextBuilder.forClient().keyManager(keyManagers(svid, provider))
                    .sslProvider(provider).protocols(PROTOCOLS).trustManager(anyFederated)
                    .endpointIdentificationAlgorithm(null).build();
            SslContext upstreamH2 = SslContextBuilder.forClient().keyManager(keyManagers(svid, provider))
                    .sslProvider(provider).protocols(PROTOCOLS).trustManager(anyFederated)
                    .endpointIdentificationAlgorithm(null)
                    .applicationProtocolConfig(new io.netty.handler.ssl.ApplicationProtocolConfig(
                            io.netty.handler.ssl.ApplicationProtocolConfig.Protocol.ALPN,
                            io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                            io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                            io.netty.handler.ssl.ApplicationProtocolNames.HTTP_2)).build();
            SslContext egress = SslContextBuilder.forServer(keyManagers(svid, provider)).sslProvider(provider)
                    .protocols(PROTOCOLS).clientAuth(ClientAuth.OPTIONAL).trustManager(localOnly)
                    .applicationProtocolConfig(io.isthmus.proxy.http.Http2Support.SERVER_ALPN).build();
            noResumption(ingress);
            noResumption(egress);
            return new ProxyTls(ingress, upstream, upstreamH2, egress, provider, verifier, anyFederated, localOnly);
        } catch (SSLException e) {
            throw new IllegalStateException("cannot build the data plane's TLS contexts: " + e.getMessage(), e);
        }
    }

    /**
     * A resumed session skips the trust manager: a peer whose intermediate was revoked could resume a session from
     * before the revocation. Servers keep no session cache; and because a ticket-based resumption cannot be ruled
     * out for every provider, {@link #admit} checks each new connection's peer again after the handshake.
     */
    private static void noResumption(SslContext ctx) {
        if (ctx.sessionContext() instanceof io.netty.handler.ssl.OpenSslSessionContext openssl) {
            openssl.setSessionCacheEnabled(false);
        } else {
            ctx.sessionContext().setSessionCacheSize(1);
            ctx.sessionContext().setSessionTimeout(1);
        }
    }

    /** A client-side TLS handler from {@code context} whose handshake must complete within {@code timeout}. */
    public static SslHandler clientHandler(SslContext context, io.netty.channel.Channel channel,
            java.time.Duration timeout) {
        SslHandler ssl = context.newHandler(channel.alloc());
        ssl.setHandshakeTimeout(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        return ssl;
    }

    public SslContext ingress() {
        return ingress;
    }

    /**
     * A server-side handler of {@code ctx} that never resumes a session: with BoringSSL, Netty enables TLS 1.3 session
     * tickets on every server engine, and a client resuming one skips the trust manager: it would present a session
     * whose certificate may have expired since (seen with JDK clients that resume: their renewed SVIDs were never
     * looked at, and {@link #admit} then refused the old one) or whose signer was revoked. With tickets off, every
     * connection is a full handshake that checks the certificate the client holds now.
     */
    public static SslHandler fullHandshakes(SslHandler handler) {
        if (handler.engine() instanceof io.netty.handler.ssl.ReferenceCountedOpenSslEngine openssl) {
            synchronized (openssl) {
                io.netty.internal.tcnative.SSL.setOptions(openssl.sslPointer(), io.netty.internal.tcnative.SSL.SSL_OP_NO_TICKET);
            }
        }
        return handler;
    }

    public SslContext upstream() {
        return upstream;
    }

    /** Client side towards peer ingresses for gRPC: like {@link #upstream()}, negotiating {@code h2} by ALPN. */
    public SslContext upstreamH2() {
        return upstreamH2;
    }

    public SslContext egress() {
        return egress;
    }

    public SslProvider provider() {
        return provider;
    }

    /**
     * Checks the peer of a connection whose handshake just completed with the listener's trust manager (a cache
     * hit after a full handshake, so nearly free), which also catches a resumed session of a since-revoked peer.
     *
     * @param localCaller true on the egress (peer must be of the local trust domain), false on the ingress
     * @return the refusal, or null when admitted or the connection carries no peer certificate
     */
    public SvidCertificateException admit(io.netty.channel.Channel channel, boolean localCaller) {
        List<X509Certificate> chain = peerChain(channel);
        if (chain == null) {
            return null;
        }
        X509ExtendedTrustManager tm = localCaller ? localCallers : peers;
        try {
            tm.checkClientTrusted(chain.toArray(X509Certificate[]::new), "UNKNOWN");
            return null;
        } catch (SvidCertificateException e) {
            return e;
        } catch (java.security.cert.CertificateException e) {
            return new SvidCertificateException(io.isthmus.trust.svid.SvidRejection.EMPTY_CHAIN, e.getMessage());
        }
    }

    private static List<X509Certificate> peerChain(io.netty.channel.Channel channel) {
        SslHandler ssl = io.isthmus.proxy.http.Http2Support.connection(channel).pipeline().get(SslHandler.class);
        if (ssl == null || !ssl.handshakeFuture().isSuccess()) {
            return null;
        }
        java.security.cert.Certificate[] certs;
        try {
            certs = ssl.engine().getSession().getPeerCertificates();
        } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
            return null;
        }
        List<X509Certificate> chain = new ArrayList<>(certs.length);
        for (java.security.cert.Certificate c : certs) {
            chain.add((X509Certificate) c);
        }
        return chain;
    }

    /**
     * Verifies the peer of an established TLS connection again, against the roots and bundles as they are now: a
     * connection made before its peer's intermediate was removed from a bundle must not outlive the revocation, and
     * one whose peer's signer was retired is drained ({@link EstablishedPeer}).
     *
     * @return the verdict; {@link EstablishedPeer.Keep} also when the connection has no verified peer certificate
     *         (plaintext, or a TLS caller without one)
     */
    public EstablishedPeer recheck(io.netty.channel.Channel channel) {
        List<X509Certificate> chain = peerChain(channel);
        if (chain == null) {
            return new EstablishedPeer.Keep();
        }
        return EstablishedPeer.recheck(verifier, chain, Clock.systemUTC().instant());
    }

    /**
     * With BoringSSL the key material of each alias is converted to native form once and cached: the alias names
     * the SVID's serial, so a rotated SVID gets a new cache entry instead of a stale hit.
     */
    private static javax.net.ssl.KeyManagerFactory keyManagers(SvidSource svid, SslProvider provider) {
        javax.net.ssl.KeyManagerFactory plain = new FixedKeyManagerFactory(new SvidKeyManager(svid));
        return provider == SslProvider.JDK ? plain : new OpenSslCachingX509KeyManagerFactory(plain);
    }

    private static final class FixedKeyManagerFactory extends SimpleKeyManagerFactory {
        private final KeyManager[] managers;

        FixedKeyManagerFactory(KeyManager manager) {
            this.managers = new KeyManager[] {manager};
        }

        @Override
        protected void engineInit(KeyStore keyStore, char[] password) {
        }

        @Override
        protected void engineInit(ManagerFactoryParameters params) {
        }

        @Override
        protected KeyManager[] engineGetKeyManagers() {
            return managers.clone();
        }
    }
}
