package io.isthmus.trust.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.SvidRejection;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.testing.TestCa;

/** Real TLS 1.3 handshakes on loopback between SVID holders, authenticated by the SPIFFE trust manager. */
class MutualTlsTest {
    private static final TrustDomain A = new TrustDomain("a.acme.internal");
    private static final TrustDomain B = new TrustDomain("b.acme.internal");

    private final TestCa pki = TestCa.create();
    private final CaCredential caA = pki.intermediate(A.name());
    private final CaCredential caB = pki.intermediate(B.name());
    private final AtomicReference<BundleSet> bundles = new AtomicReference<>(BundleSet.of(List.of(
            new TrustBundle(A, List.of(caA.certificate()), List.of(), 1, Optional.empty()),
            new TrustBundle(B, List.of(caB.certificate()), List.of(), 1, Optional.empty()))));
    private final X509SvidVerifier verifier = new X509SvidVerifier(pki.roots(), td -> bundles.get().bundleFor(td),
            Clock.systemUTC(), Duration.ofSeconds(30));
    private SSLServerSocket server;

    @AfterEach
    void close() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    /** Starts a one-connection mTLS echo server; completes with the client's SPIFFE ID as the server saw it. */
    private CompletableFuture<SpiffeId> serve(SvidSource serverSvid, PeerPolicy clientPolicy) throws Exception {
        SSLContext ctx = TlsContexts.create(serverSvid, new SpiffeTrustManager(verifier, clientPolicy));
        server = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 1, InetAddress.getLoopbackAddress());
        server.setNeedClientAuth(true);
        server.setEnabledProtocols(new String[] {"TLSv1.3"});
        return CompletableFuture.supplyAsync(() -> {
            try (SSLSocket s = (SSLSocket) server.accept()) {
                s.startHandshake();
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                out.write(in.read());
                out.flush();
                return TlsContexts.peerId(s.getSession()).orElseThrow();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
    }

    private SpiffeId connect(SvidSource clientSvid, PeerPolicy serverPolicy) throws Exception {
        SSLContext ctx = TlsContexts.create(clientSvid, new SpiffeTrustManager(verifier, serverPolicy));
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(),
                server.getLocalPort())) {
            s.setEnabledProtocols(new String[] {"TLSv1.3"});
            s.startHandshake();
            s.getOutputStream().write(42);
            s.getOutputStream().flush();
            assertThat(s.getInputStream().read()).isEqualTo(42);
            return TlsContexts.peerId(s.getSession()).orElseThrow();
        }
    }

    @Test
    void peersFromTwoTrustDomainsAuthenticateEachOther() throws Exception {
        X509Svid gatewayB = TestCa.svid(caB, "spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
        X509Svid checkout = TestCa.svid(caA, "spiffe://a.acme.internal/ns/shop/sa/checkout");
        CompletableFuture<SpiffeId> seenByServer = serve(() -> gatewayB, PeerPolicy.memberOf(A));
        SpiffeId seenByClient = connect(() -> checkout, PeerPolicy.exactly(gatewayB.id()));
        assertThat(seenByClient).isEqualTo(gatewayB.id());
        assertThat(seenByServer.get(5, TimeUnit.SECONDS)).isEqualTo(checkout.id());
    }

    @Test
    void serverRefusesAClientWhoseIntermediateWasWithdrawn() throws Exception {
        X509Svid gatewayB = TestCa.svid(caB, "spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
        CaCredential withdrawn = pki.intermediate(A.name());
        X509Svid stolen = TestCa.svid(withdrawn, "spiffe://a.acme.internal/ns/shop/sa/checkout");
        CompletableFuture<SpiffeId> seenByServer = serve(() -> gatewayB, PeerPolicy.anyFederated());
        assertThatThrownBy(() -> connect(() -> stolen, PeerPolicy.anyFederated()))
                .isInstanceOfAny(SSLHandshakeException.class, java.net.SocketException.class);
        assertThat(seenByServer).failsWithin(5, TimeUnit.SECONDS).withThrowableThat()
                .havingRootCause().isInstanceOfSatisfying(SvidCertificateException.class,
                        e -> assertThat(e.reason()).isEqualTo(SvidRejection.SIGNER_NOT_IN_BUNDLE));
    }

    @Test
    void clientRefusesAServerOutsideTheExpectedTrustDomain() throws Exception {
        X509Svid notB = TestCa.svid(caA, "spiffe://a.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
        X509Svid checkout = TestCa.svid(caA, "spiffe://a.acme.internal/ns/shop/sa/checkout");
        serve(() -> notB, PeerPolicy.anyFederated());
        assertThatThrownBy(() -> connect(() -> checkout, PeerPolicy.memberOf(B)))
                .isInstanceOf(SSLHandshakeException.class)
                .hasRootCauseInstanceOf(SvidCertificateException.class)
                .rootCause().hasMessageContaining("is not a member of trust domain b.acme.internal");
    }

    @Test
    void keyManagerPresentsTheRotatedSvidWithoutANewContext() throws Exception {
        X509Svid first = TestCa.svid(caB, "spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway");
        AtomicReference<X509Svid> current = new AtomicReference<>(first);
        X509Svid checkout = TestCa.svid(caA, "spiffe://a.acme.internal/ns/shop/sa/checkout");
        SSLContext serverCtx = TlsContexts.create(current::get, new SpiffeTrustManager(verifier, PeerPolicy.anyFederated()));
        server = (SSLServerSocket) serverCtx.getServerSocketFactory().createServerSocket(0, 2, InetAddress.getLoopbackAddress());
        server.setNeedClientAuth(true);
        AtomicReference<java.math.BigInteger> serial = new AtomicReference<>();
        for (int i = 0; i < 2; i++) {
            if (i == 1) {
                current.set(TestCa.svid(caB, "spiffe://b.acme.internal/ns/isthmus-system/sa/isthmus-gateway"));
            }
            CompletableFuture<Void> accept = CompletableFuture.runAsync(() -> {
                try (SSLSocket s = (SSLSocket) server.accept()) {
                    s.startHandshake();
                    s.getOutputStream().write(1);
                    s.getOutputStream().flush();
                    s.getInputStream().read();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            SSLContext clientCtx = TlsContexts.create(() -> checkout, new SpiffeTrustManager(verifier, PeerPolicy.anyFederated()));
            try (SSLSocket s = (SSLSocket) clientCtx.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(),
                    server.getLocalPort())) {
                s.startHandshake();
                s.getInputStream().read();
                var leaf = (java.security.cert.X509Certificate) s.getSession().getPeerCertificates()[0];
                serial.set(leaf.getSerialNumber());
                s.getOutputStream().write(1);
            }
            accept.get(5, TimeUnit.SECONDS);
            assertThat(serial.get()).isEqualTo(current.get().leaf().getSerialNumber());
        }
        assertThat(first.leaf().getSerialNumber()).isNotEqualTo(current.get().leaf().getSerialNumber());
    }
}
