package io.isthmus.trust.svid;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Crypto;

/**
 * An X.509-SVID held by its owner: the private key and the chain it presents in TLS ({@code chain.get(0)} is
 * the leaf, followed by the intermediate that signed it). The key and chain always change together: replace
 * the whole record.
 */
public record X509Svid(SpiffeId id, PrivateKey key, List<X509Certificate> chain) {

    public X509Svid {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(key, "key");
        chain = List.copyOf(chain);
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("an SVID needs at least its leaf certificate");
        }
        List<String> uris = Certificates.uriSans(chain.get(0));
        if (!uris.equals(List.of(id.toString()))) {
            throw new IllegalArgumentException("leaf URI SANs " + uris + " do not equal the SVID's ID " + id);
        }
        if (!Crypto.keysMatch(key, chain.get(0).getPublicKey())) {
            throw new IllegalArgumentException("private key does not belong to the SVID leaf for " + id);
        }
    }

    public X509Certificate leaf() {
        return chain.get(0);
    }

    public Instant notBefore() {
        return leaf().getNotBefore().toInstant();
    }

    public Instant notAfter() {
        return leaf().getNotAfter().toInstant();
    }

    /** Renewal is due once half the lifetime has passed (the SPIRE and Istio convention). */
    public Instant halfLife() {
        long half = (notAfter().toEpochMilli() - notBefore().toEpochMilli()) / 2;
        return notBefore().plusMillis(half);
    }

    /**
     * When to renew, seen at {@code now}: at half life, but never sooner than a quarter of the time left. Issuers
     * backdate {@code notBefore} (30 s against clock skew), so for a lifetime under a minute the half life of a fresh
     * SVID is already past, and renewing "at half life" would renew again at once, in a loop.
     */
    public Instant renewalDue(Instant now) {
        Instant quarterOfRest = now.plusMillis(Math.max(0, notAfter().toEpochMilli() - now.toEpochMilli()) / 4);
        Instant half = halfLife();
        return half.isAfter(quarterOfRest) ? half : quarterOfRest;
    }

    @Override
    public String toString() {
        return "X509Svid[" + id + ", " + Certificates.describe(leaf()) + ", notAfter=" + notAfter() + "]";
    }
}
