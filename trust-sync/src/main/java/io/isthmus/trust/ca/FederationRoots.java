package io.isthmus.trust.ca;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

import io.isthmus.trust.x509.Certificates;

/**
 * The federation root certificates this gateway trusts. Usually one; two while the root itself rotates
 * (old and new both trusted until the old expires). Only the certificates: the root key stays offline.
 */
public record FederationRoots(List<X509Certificate> certificates) implements RootsSource {

    public FederationRoots {
        certificates = List.copyOf(certificates);
        if (certificates.isEmpty()) {
            throw new IllegalArgumentException("at least one federation root certificate is required");
        }
        for (X509Certificate root : certificates) {
            if (!Certificates.isCa(root)) {
                throw new IllegalArgumentException("federation root " + Certificates.describe(root) + " is not a CA");
            }
            if (!Certificates.signedBy(root, root)) {
                throw new IllegalArgumentException("federation root " + Certificates.describe(root)
                        + " is not self-signed; configure the root itself, not an intermediate");
            }
        }
    }

    /** A fixed set is its own source. */
    @Override
    public FederationRoots roots() {
        return this;
    }

    public static FederationRoots of(X509Certificate... roots) {
        return new FederationRoots(List.of(roots));
    }

    /** The root that signed {@code ca}, if any of ours did. */
    public Optional<X509Certificate> issuerOf(X509Certificate ca) {
        for (X509Certificate root : certificates) {
            if (Certificates.signedBy(ca, root)) {
                return Optional.of(root);
            }
        }
        return Optional.empty();
    }
}
