package io.isthmus.trust.bundle;

import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Certificates;

/**
 * A trust domain's bundle: the CA certificates that may sign its X.509-SVIDs (the live allowlist), its JWT-SVID
 * keys, a sequence number that only moves forward, and how often consumers should poll for a new one.
 */
public record TrustBundle(TrustDomain trustDomain, List<X509Certificate> x509Authorities,
        List<JwtAuthority> jwtAuthorities, long sequence, Optional<Duration> refreshHint) {

    public TrustBundle {
        Objects.requireNonNull(trustDomain, "trustDomain");
        x509Authorities = List.copyOf(new LinkedHashSet<>(x509Authorities));
        jwtAuthorities = List.copyOf(jwtAuthorities);
        Objects.requireNonNull(refreshHint, "refreshHint");
        if (sequence < 0) {
            throw new IllegalArgumentException("bundle sequence must not be negative: " + sequence);
        }
        refreshHint.ifPresent(hint -> {
            if (hint.isNegative() || hint.isZero()) {
                throw new IllegalArgumentException("refresh hint must be positive: " + hint);
            }
        });
    }

    /** The authority with this serial, as printed by {@link Certificates#serialHex}. */
    public Optional<X509Certificate> authorityBySerial(BigInteger serial) {
        return x509Authorities.stream().filter(c -> c.getSerialNumber().equals(serial)).findFirst();
    }

    public boolean containsAuthority(X509Certificate cert) {
        return x509Authorities.contains(cert);
    }

    /** The same authorities and keys with the next sequence number. */
    public TrustBundle withX509Authorities(List<X509Certificate> authorities, long newSequence) {
        return new TrustBundle(trustDomain, authorities, jwtAuthorities, newSequence, refreshHint);
    }

    public TrustBundle withJwtAuthorities(List<JwtAuthority> keys, long newSequence) {
        return new TrustBundle(trustDomain, x509Authorities, keys, newSequence, refreshHint);
    }

    public TrustBundle withRefreshHint(Duration hint) {
        return new TrustBundle(trustDomain, x509Authorities, jwtAuthorities, sequence, Optional.of(hint));
    }

    /** Whether the two bundles carry the same keys, ignoring sequence and refresh hint. */
    public boolean sameKeysAs(TrustBundle other) {
        return trustDomain.equals(other.trustDomain)
                && new LinkedHashSet<>(x509Authorities).equals(new LinkedHashSet<>(other.x509Authorities))
                && jwtKeys().equals(other.jwtKeys());
    }

    private List<String> jwtKeys() {
        List<String> keys = new ArrayList<>();
        for (JwtAuthority a : jwtAuthorities) {
            keys.add(a.keyId() + ":" + java.util.Base64.getEncoder().encodeToString(a.publicKey().getEncoded()));
        }
        keys.sort(null);
        return keys;
    }

    @Override
    public String toString() {
        List<String> serials = x509Authorities.stream().map(Certificates::serialHex).toList();
        return "TrustBundle[" + trustDomain + ", sequence " + sequence + ", x509 " + serials + ", jwt "
                + jwtAuthorities.stream().map(JwtAuthority::keyId).toList() + "]";
    }
}
