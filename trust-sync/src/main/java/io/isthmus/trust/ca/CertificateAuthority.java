package io.isthmus.trust.ca;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.X509Svid;

/**
 * This cluster's signing authority: its intermediate key and certificate as one snapshot. A new intermediate
 * is validated (federation root, name constraint, validity) before it replaces the old one, so a signer never
 * sees a half-installed key. Thread-safe; issuing never blocks on installation.
 */
public final class CertificateAuthority {
    private final TrustDomain trustDomain;
    private final AuthorityValidator validator;
    private final SvidIssuer issuer;
    private final Clock clock;
    private final AtomicReference<CaCredential> current = new AtomicReference<>();

    public CertificateAuthority(TrustDomain trustDomain, AuthorityValidator validator, CaCredential initial, Clock clock) {
        this.trustDomain = Objects.requireNonNull(trustDomain);
        this.validator = validator;
        this.clock = clock;
        this.issuer = new SvidIssuer(clock);
        install(initial);
    }

    public TrustDomain trustDomain() {
        return trustDomain;
    }

    public CaCredential current() {
        return current.get();
    }

    /**
     * Validates {@code next} as an authority of this trust domain, then makes it the signer.
     *
     * @throws InvalidAuthorityException when it is not; the current signer stays in place
     */
    public void install(CaCredential next) {
        validator.validate(next.certificate(), trustDomain, clock.instant());
        current.set(next);
    }

    public X509Svid issue(SpiffeId id, Duration ttl) {
        requireOwnDomain(id);
        return issuer.issue(current.get(), id, ttl);
    }

    public List<X509Certificate> issueFromCsr(SpiffeId id, byte[] csr, Duration ttl) {
        requireOwnDomain(id);
        return issuer.issueFromCsr(current.get(), id, csr, ttl);
    }

    private void requireOwnDomain(SpiffeId id) {
        if (!id.memberOf(trustDomain)) {
            throw new IssuanceException("the CA of " + trustDomain + " may not sign " + id);
        }
    }
}
