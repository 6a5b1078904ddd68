package io.isthmus.registry.signing;

import java.security.cert.X509Certificate;
import java.util.Objects;

/**
 * A signature over a record's exact bytes, and the certificate of the key that made it: the owning gateway's
 * X.509-SVID leaf at the time of signing.
 */
public record EntrySignature(X509Certificate signer, byte[] value) {
    public EntrySignature {
        Objects.requireNonNull(signer, "signer");
        Objects.requireNonNull(value, "value");
        value = value.clone();
    }

    @Override
    public byte[] value() {
        return value.clone();
    }
}
