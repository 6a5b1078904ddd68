package io.isthmus.gateway.probe;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import io.isthmus.trust.runtime.TrustRuntime;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;
import io.isthmus.trust.tls.SvidCertificateException;
import io.isthmus.trust.tls.TlsContexts;

/**
 * Opens TLS connections to a peer gateway's listeners the way this gateway's data plane and bundle sync do: it
 * presents this gateway's current SVID, and the peer must present an SVID of the expected trust domain that
 * verifies against the live bundles. Blocking (probes run on their own threads, never on an event loop).
 * Thread-safe.
 */
final class PeerTls {
    private final TrustRuntime trust;
    private final Map<TrustDomain, SSLContext> contexts = new ConcurrentHashMap<>();

    PeerTls(TrustRuntime trust) {
        this.trust = trust;
    }

    /**
     * A connected socket whose handshake completed and whose peer verified as a member of {@code td}.
     *
     * @throws ProbeException naming what failed, in words an operator can act on
     */
    SSLSocket connect(TrustDomain td, String host, int port, Duration timeout) throws ProbeException {
        SSLContext ctx = contexts.computeIfAbsent(td, d -> TlsContexts.create(trust,
                new SpiffeTrustManager(trust.verifier(), PeerPolicy.memberOf(d))));
        SSLSocket socket = null;
        String where = host + ":" + port;
        try {
            socket = (SSLSocket) ctx.getSocketFactory().createSocket();
            socket.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
            socket.setSoTimeout((int) timeout.toMillis());
            SSLParameters p = socket.getSSLParameters();
            p.setProtocols(TlsContexts.PROTOCOLS);
            socket.setSSLParameters(p);
            socket.startHandshake();
            return socket;
        } catch (UnknownHostException e) {
            close(socket);
            throw new ProbeException(where + ": unknown host " + host);
        } catch (ConnectException e) {
            close(socket);
            throw new ProbeException(where + ": connection refused (nothing listens there, or a firewall rejects it)");
        } catch (SocketTimeoutException e) {
            close(socket);
            throw new ProbeException(where + ": no answer within " + timeout.toMillis() + " ms (host down, or packets"
                    + " dropped on the way)");
        } catch (SSLHandshakeException e) {
            close(socket);
            SvidCertificateException svid = svidCause(e);
            throw new ProbeException(where + ": TLS handshake failed: " + (svid != null
                    ? "its certificate does not verify as " + td + " (" + svid.reason().label() + "): "
                    + svid.getMessage() : e.getMessage()));
        } catch (IOException e) {
            close(socket);
            throw new ProbeException(where + ": " + e);
        }
    }

    static SpiffeId peerId(SSLSocket socket) {
        return TlsContexts.peerId(socket.getSession()).orElseThrow(
                () -> new IllegalStateException("verified peer without a SPIFFE ID"));
    }

    private static SvidCertificateException svidCause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SvidCertificateException s) {
                return s;
            }
        }
        return null;
    }

    private static void close(SSLSocket socket) {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // nothing to release beyond the socket itself
            }
        }
    }
}
