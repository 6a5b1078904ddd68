package io.isthmus.trust.spiffe;

import java.util.Objects;

/**
 * A SPIFFE trust domain name, e.g. {@code aws-east.acme.internal}: lowercase letters, digits, '.', '-', '_',
 * at most 255 bytes. Each Isthmus cluster is one trust domain.
 */
public record TrustDomain(String name) implements Comparable<TrustDomain> {
    static final int MAX_LENGTH = 255;

    public TrustDomain {
        Objects.requireNonNull(name, "name");
        SpiffeIdError error = SpiffeIds.checkTrustDomain(name);
        if (error != null) {
            throw new InvalidSpiffeIdException(error, name);
        }
    }

    /**
     * Parses a bare trust domain name, or the trust domain ID {@code spiffe://<name>} (no path).
     *
     * @throws InvalidSpiffeIdException naming the broken rule
     */
    public static TrustDomain parse(String text) {
        if (text == null || text.isEmpty()) {
            throw new InvalidSpiffeIdException(SpiffeIdError.EMPTY, text);
        }
        if (text.startsWith(SpiffeIds.PREFIX)) {
            SpiffeId id = SpiffeIds.parse(text, false);
            if (!id.path().isEmpty()) {
                throw new InvalidSpiffeIdException(SpiffeIdError.NOT_A_TRUST_DOMAIN, text);
            }
            return id.trustDomain();
        }
        if (text.contains("://")) {
            throw new InvalidSpiffeIdException(SpiffeIdError.WRONG_SCHEME, text);
        }
        return new TrustDomain(text);
    }

    /** The trust domain's own SPIFFE ID, {@code spiffe://<name>}, used in CA certificates and bundle IDs. */
    public SpiffeId id() {
        return new SpiffeId(this, "");
    }

    /** A workload ID in this trust domain, e.g. {@code ns/shop/sa/checkout} → {@code spiffe://td/ns/shop/sa/checkout}. */
    public SpiffeId workload(String path) {
        return SpiffeId.parse(SpiffeIds.PREFIX + name + (path.startsWith("/") ? path : "/" + path));
    }

    @Override
    public int compareTo(TrustDomain o) {
        return name.compareTo(o.name);
    }

    @Override
    public String toString() {
        return name;
    }
}
