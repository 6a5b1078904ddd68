package io.isthmus.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.isthmus.trust.ca.SvidIssuer;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;
import io.isthmus.trust.tls.SvidKeyManager;

/**
 * A TLS client that caches sessions (the JDK's does; so do Envoy and grpc-java) must not skip the certificate check
 * on its next connection by resuming one: the ingress and the egress accept no resumption, so every connection is a
 * full handshake that looks at the SVID the caller holds now. Before, BoringSSL issued TLS 1.3 session tickets: a
 * caller whose renewed SVID replaced an old one resumed with the old one, which the egress then refused once it had
 * expired (a bare close: a failed call during every rotation), and a revoked peer could resume a pre-revocation
 * session.
 */
class SessionResumptionTest {
    private Federation fed;

    @BeforeEach
    void start() throws Exception {
        fed = Federation.start(ProxySettings.defaults());
    }

    @AfterEach
    void stop() {
        fed.close();
    }

    @Test
    void everyConnectionToTheEgressIsAFullHandshakeWithTheCallersCurrentSvid() throws Exception {
        Federation.Cluster a = fed.cluster("a");
        assertFullHandshakes(a, a.egress.address(), Federation.CHECKOUT, "GET / HTTP/1.1\r\nHost: "
                + Federation.PAYMENTS.host() + "\r\nConnection: close\r\n\r\n");
    }

    @Test
    void everyConnectionToTheIngressIsAFullHandshakeWithThePeersCurrentSvid() throws Exception {
        Federation.Cluster a = fed.cluster("a");
        assertFullHandshakes(a, fed.cluster("b").ingress.address(),
                "spiffe://a.acme.internal/ns/isthmus-system/sa/isthmus-gateway", "GET / HTTP/1.1\r\nHost: "
                        + Federation.PAYMENTS.host() + "\r\nx-isthmus-caller: " + Federation.CHECKOUT
                        + "\r\nConnection: close\r\n\r\n");
    }

    /** Two connections from one client context, the SVID renewed in between: both present their SVID afresh. */
    private void assertFullHandshakes(Federation.Cluster caller, InetSocketAddress to, String id, String request)
            throws Exception {
        SvidIssuer issuer = new SvidIssuer(Clock.systemUTC());
        AtomicReference<X509Svid> current = new AtomicReference<>(issuer.issue(caller.ca, SpiffeId.parse(id),
                Duration.ofMinutes(5)));
        CountingKeyManager keys = new CountingKeyManager(new SvidKeyManager(current::get));
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(new KeyManager[] {keys}, new TrustManager[] {new SpiffeTrustManager(caller.verifier(),
                PeerPolicy.anyFederated())}, null);
        for (int i = 1; i <= 2; i++) {
            try (RawHttp http = RawHttp.tls(to, ctx)) {
                assertThat(http.exchange(request).status()).as("call %d", i).isEqualTo(200);
            }
            assertThat(keys.presented.get()).as("client certificates presented after %d connection(s)", i).isEqualTo(i);
            current.set(issuer.issue(caller.ca, SpiffeId.parse(id), Duration.ofMinutes(5)));
        }
    }

    /** Counts how often the client is asked for its certificate: once per full handshake, never on resumption. */
    private static final class CountingKeyManager extends X509ExtendedKeyManager {
        private final X509ExtendedKeyManager delegate;
        final AtomicInteger presented = new AtomicInteger();

        CountingKeyManager(X509ExtendedKeyManager delegate) {
            this.delegate = delegate;
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, java.net.Socket socket) {
            presented.incrementAndGet();
            return delegate.chooseClientAlias(keyType, issuers, socket);
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            presented.incrementAndGet();
            return delegate.chooseEngineClientAlias(keyType, issuers, engine);
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return delegate.getClientAliases(keyType, issuers);
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, java.net.Socket socket) {
            return delegate.chooseServerAlias(keyType, issuers, socket);
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return delegate.getServerAliases(keyType, issuers);
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return delegate.getCertificateChain(alias);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return delegate.getPrivateKey(alias);
        }
    }
}
