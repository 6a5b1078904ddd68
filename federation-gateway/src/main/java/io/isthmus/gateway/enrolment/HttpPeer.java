package io.isthmus.gateway.enrolment;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

import io.vertx.core.http.HttpServerRequest;

/** Who is on the other end of a request: its address and, when it presented one, its certificate chain. */
public record HttpPeer(String address, boolean tls, List<X509Certificate> chain) {

    public static HttpPeer of(HttpServerRequest request) {
        String address = request.remoteAddress() == null ? "unknown" : request.remoteAddress().hostAddress();
        if (!request.isSSL()) {
            return new HttpPeer(address, false, List.of());
        }
        SSLSession session = request.sslSession();
        List<X509Certificate> chain = new ArrayList<>();
        try {
            if (session != null) {
                for (Certificate c : session.getPeerCertificates()) {
                    if (c instanceof X509Certificate x) {
                        chain.add(x);
                    }
                }
            }
        } catch (SSLPeerUnverifiedException e) {
            // No client certificate: normal for enrolment.
        }
        return new HttpPeer(address, true, List.copyOf(chain));
    }

    public void requireTls() {
        if (!tls) {
            throw new EnrolmentException(EnrolmentError.TLS_REQUIRED,
                    "enrolment, renewal and admin calls are served over TLS only; use https://");
        }
    }
}
