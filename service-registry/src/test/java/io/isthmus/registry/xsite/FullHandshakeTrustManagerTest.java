package io.isthmus.registry.xsite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;

import org.junit.jupiter.api.Test;

import io.isthmus.registry.testing.TestFederation;
import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.tls.SvidKeyManager;

/**
 * A site revoked after it connected once must not get back in by resuming its TLS session: a resumed handshake
 * never calls the trust manager. Real sockets on 127.0.0.1: c dials a's bridge address twice with the same client
 * context, and c's intermediate leaves a's bundle between the two.
 */
class FullHandshakeTrustManagerTest {
    private final TestFederation federation = new TestFederation(Clock.systemUTC(), "cluster-a", "cluster-c");

    private static SSLContext context(X509Svid svid, X509ExtendedTrustManager trust) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(new KeyManager[] {new SvidKeyManager(() -> svid)}, new TrustManager[] {trust}, null);
        return ctx;
    }

    /** One connection from c to a: the server's handshake outcome, after a byte went each way. */
    private static void connect(SSLContext server, SSLContext client, InetSocketAddress at) throws Exception {
        try (SSLServerSocket listener = (SSLServerSocket) server.getServerSocketFactory().createServerSocket(at.getPort(), 1,
                at.getAddress())) {
            listener.setNeedClientAuth(true);
            listener.setEnabledProtocols(new String[] {"TLSv1.3"});
            CompletableFuture<Void> accepted = CompletableFuture.runAsync(() -> {
                try (SSLSocket s = (SSLSocket) listener.accept()) {
                    s.startHandshake();
                    s.getOutputStream().write(1);
                    s.getInputStream().read();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try (SSLSocket s = (SSLSocket) client.getSocketFactory().createSocket(at.getAddress(), at.getPort())) {
                s.setEnabledProtocols(new String[] {"TLSv1.3"});
                // Reading processes the server's session ticket, which the next connection would offer.
                s.getInputStream().read();
                s.getOutputStream().write(1);
            } catch (java.io.IOException e) {
                // the server refused us; its side says why
            }
            try {
                accepted.get(10, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw (Exception) e.getCause().getCause();
            }
        }
    }

    /** @return handshakes a refused */
    private long reconnectAfterRevocation(boolean fullHandshakes) throws Exception {
        BridgeTrustManager atA = new BridgeTrustManager(federation.settings("cluster-a"),
                federation.verifierAt("cluster-a"), federation::isGateway);
        BridgeTrustManager atC = new BridgeTrustManager(federation.settings("cluster-c"),
                federation.verifierAt("cluster-c"), federation::isGateway);
        SSLContext server = context(federation.svidOf("cluster-a"), fullHandshakes ? new FullHandshakeTrustManager(atA) : atA);
        SSLContext client = context(federation.svidOf("cluster-c"), fullHandshakes ? new FullHandshakeTrustManager(atC) : atC);
        InetSocketAddress aBridge = federation.settings("cluster-c").peers().get("cluster-a").bridgeAddresses().get(0);
        connect(server, client, aBridge);
        assertThat(atA.refusedHandshakes()).isZero();
        federation.revoke("cluster-c", "cluster-a");
        connect(server, client, aBridge);
        return atA.refusedHandshakes();
    }

    @Test
    void refusesAReconnectOfARevokedSiteThatWouldResumeItsSession() {
        assertThatThrownBy(() -> reconnectAfterRevocation(true))
                .isInstanceOf(SSLHandshakeException.class)
                .hasMessageContaining("is not in the bundle of cluster-c.acme.internal");
    }

    /** Why the wrapper exists: without it, the JDK resumes the session and the revoked site is let back in. */
    @Test
    void withoutItTheJdkResumesTheRevokedSitesSession() throws Exception {
        assertThat(reconnectAfterRevocation(false)).as("handshakes refused by a").isZero();
    }
}
