package io.isthmus.trust.tls;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A trust manager whose decision depends on the peer's chain alone, whichever side and transport asks: every
 * {@code check*Trusted} variant goes to {@link #check}. Being an {@link X509ExtendedTrustManager}, it replaces the
 * JDK's host name checks, as SPIFFE authentication requires. Accepted issuers are never advertised.
 */
public abstract class ChainCheckingTrustManager extends X509ExtendedTrustManager {
    private static final X509Certificate[] NO_ISSUERS = new X509Certificate[0];

    /** Returns quietly when the peer presenting {@code chain} is trusted, otherwise throws with the reason. */
    public abstract void check(X509Certificate[] chain) throws CertificateException;

    @Override
    public final void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain);
    }

    @Override
    public final void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain);
    }

    @Override
    public final void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        check(chain);
    }

    @Override
    public final void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        check(chain);
    }

    @Override
    public final void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain);
    }

    @Override
    public final void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain);
    }

    @Override
    public final X509Certificate[] getAcceptedIssuers() {
        return NO_ISSUERS;
    }
}
