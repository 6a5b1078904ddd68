package io.isthmus.trust.tls;

import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.TrustManager;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.x509.Certificates;

/** JDK {@link SSLContext}s over an SVID source and a SPIFFE trust manager. */
public final class TlsContexts {
    public static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private TlsContexts() {
    }

    /**
     * @param svids what to present; null for a client that presents nothing
     * @param trust how to authenticate the peer; null for a server that does not ask for client certificates
     */
    public static SSLContext create(SvidSource svids, SpiffeTrustManager trust) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(svids == null ? null : new KeyManager[] {new SvidKeyManager(svids)},
                    trust == null ? new TrustManager[] {RefuseAllTrustManager.INSTANCE} : new TrustManager[] {trust},
                    null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot create TLS context", e);
        }
    }

    /** The SPIFFE ID of an already verified peer. */
    public static Optional<SpiffeId> peerId(SSLSession session) {
        try {
            java.security.cert.Certificate[] certs = session.getPeerCertificates();
            if (certs.length == 0 || !(certs[0] instanceof X509Certificate leaf)) {
                return Optional.empty();
            }
            List<String> uris = Certificates.uriSans(leaf);
            return uris.size() == 1 ? SpiffeId.tryParse(uris.get(0)) : Optional.empty();
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }

    /** Used where no peer certificate is expected: any that arrives is refused. */
    private static final class RefuseAllTrustManager implements javax.net.ssl.X509TrustManager {
        static final RefuseAllTrustManager INSTANCE = new RefuseAllTrustManager();

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType)
                throws java.security.cert.CertificateException {
            throw new java.security.cert.CertificateException("this endpoint does not accept client certificates");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType)
                throws java.security.cert.CertificateException {
            throw new java.security.cert.CertificateException("no trust configured for servers");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
