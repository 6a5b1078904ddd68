package io.isthmus.trust.ca;

import java.security.cert.X509Certificate;

import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Certificates;

/** A CA certificate was refused as an authority of a trust domain; {@link #error()} says why. */
public final class InvalidAuthorityException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final AuthorityError error;

    public InvalidAuthorityException(AuthorityError error, X509Certificate cert, TrustDomain td, String detail) {
        super("CA " + Certificates.describe(cert) + " for trust domain " + td + " " + error.rule()
                + (detail == null || detail.isEmpty() ? "" : " (" + detail + ")"));
        this.error = error;
    }

    public AuthorityError error() {
        return error;
    }
}
