package io.isthmus.registry.xsite;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Makes every connection run a full handshake, so the wrapped trust manager sees every peer certificate against the
 * bundles current at that moment: after a check passes, the handshake's session is invalidated, so the JDK neither
 * issues a TLS 1.3 session ticket for it (server side) nor offers it for resumption (client side).
 *
 * <p>Why: a resumed handshake does not call the trust manager at all; it takes the peer's certificates from the
 * ticket. A site whose intermediate was removed from the bundle, closed by {@link RegistryNode#revalidatePeers()},
 * reconnected by resuming the session it had before the removal, and its data flowed again (seen in
 * {@code BridgeRevocationTest} before this class existed: no handshake was refused on the server side). An
 * invalidated session keeps serving its own connection. The cost is one full handshake per connection; bridge and
 * replica connections are long-lived.
 */
final class FullHandshakeTrustManager extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager delegate;

    FullHandshakeTrustManager(X509ExtendedTrustManager delegate) {
        this.delegate = delegate;
    }

    private static void noResumption(Socket socket) {
        if (socket instanceof SSLSocket ssl) {
            noResumption(ssl.getHandshakeSession());
        }
    }

    private static void noResumption(SSLEngine engine) {
        if (engine != null) {
            noResumption(engine.getHandshakeSession());
        }
    }

    private static void noResumption(SSLSession session) {
        if (session != null) {
            session.invalidate();
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        delegate.checkClientTrusted(chain, authType, socket);
        noResumption(socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        delegate.checkServerTrusted(chain, authType, socket);
        noResumption(socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        delegate.checkClientTrusted(chain, authType, engine);
        noResumption(engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        delegate.checkServerTrusted(chain, authType, engine);
        noResumption(engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        delegate.checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        delegate.checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return delegate.getAcceptedIssuers();
    }
}
