package io.isthmus.trust.ca;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Crypto;

/**
 * A CA's private key with its certificate chain ({@code chain.get(0)} is the CA's own certificate, followed by
 * its issuers up to but not including the federation root; a root's chain is just itself). Checked on
 * construction: the key matches, the first certificate is a CA, each certificate is signed by the next.
 */
public record CaCredential(PrivateKey key, List<X509Certificate> chain) {

    public CaCredential {
        Objects.requireNonNull(key, "key");
        chain = List.copyOf(chain);
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("CA credential needs at least its own certificate");
        }
        X509Certificate own = chain.get(0);
        if (!Certificates.isCa(own)) {
            throw new IllegalArgumentException("certificate " + Certificates.describe(own)
                    + " is not a CA (basicConstraints CA:TRUE missing)");
        }
        if (!Crypto.keysMatch(key, own.getPublicKey())) {
            throw new IllegalArgumentException("private key does not belong to CA certificate " + Certificates.describe(own));
        }
        for (int i = 0; i + 1 < chain.size(); i++) {
            if (!Certificates.signedBy(chain.get(i), chain.get(i + 1))) {
                throw new IllegalArgumentException("chain is out of order: " + Certificates.describe(chain.get(i))
                        + " is not signed by " + Certificates.describe(chain.get(i + 1)));
            }
        }
    }

    public X509Certificate certificate() {
        return chain.get(0);
    }

    /** For logs: never prints the key. */
    @Override
    public String toString() {
        return "CaCredential[" + Certificates.describe(certificate()) + "]";
    }
}
