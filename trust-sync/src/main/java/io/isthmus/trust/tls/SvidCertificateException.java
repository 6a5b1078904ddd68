package io.isthmus.trust.tls;

import java.security.cert.CertificateException;

import io.isthmus.trust.svid.SvidRejection;

/** Thrown from a TLS trust manager when the peer's SVID is refused; carries the typed reason for metrics. */
public final class SvidCertificateException extends CertificateException {
    private static final long serialVersionUID = 1L;
    private final SvidRejection reason;

    public SvidCertificateException(SvidRejection reason, String message) {
        super(message);
        this.reason = reason;
    }

    public SvidRejection reason() {
        return reason;
    }
}
