package io.isthmus.trust.federation;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.AuthorityError;
import io.isthmus.trust.ca.AuthorityValidator;
import io.isthmus.trust.ca.InvalidAuthorityException;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Certificates;

/**
 * The rules for taking a peer's bundle into use: it is the bundle of the expected trust domain; every CA in it
 * chains to the federation root and is name-constrained to exactly that trust domain; its sequence never goes
 * backwards, and a reused sequence must carry the same keys. CAs that merely expired are dropped with a
 * warning rather than failing the bundle (they can sign nothing valid any more). Pure; thread-safe.
 */
public final class PeerBundleValidator {
    private final AuthorityValidator authorities;
    private final Clock clock;

    public PeerBundleValidator(AuthorityValidator authorities, Clock clock) {
        this.authorities = authorities;
        this.clock = clock;
    }

    /** What to do with a candidate bundle. */
    public sealed interface Decision {
        /** Take {@code bundle} into use (expired CAs removed; see {@code warnings}). */
        record Accept(TrustBundle bundle, List<String> warnings) implements Decision {
        }

        /** Same sequence, same keys: nothing to do. */
        record Unchanged(TrustBundle current) implements Decision {
        }
    }

    /**
     * @throws BundleRejectedException when the bundle must not be used; the previous one stays in force
     */
    public Decision decide(TrustDomain expected, TrustBundle candidate, Optional<TrustBundle> previous)
            throws BundleRejectedException {
        if (!candidate.trustDomain().equals(expected)) {
            throw new BundleRejectedException(BundleRejection.WRONG_TRUST_DOMAIN, "bundle is for "
                    + candidate.trustDomain() + ", expected " + expected);
        }
        // Whose CAs these are comes before whether the sequence advanced: a bundle of another trust domain served at
        // this peer's endpoint must be reported as that, not as a sequence problem it happens to have as well.
        Instant now = clock.instant();
        List<X509Certificate> kept = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        for (X509Certificate ca : candidate.x509Authorities()) {
            try {
                authorities.validate(ca, expected, now);
                kept.add(ca);
            } catch (InvalidAuthorityException e) {
                if (e.error() == AuthorityError.EXPIRED) {
                    warnings.add("dropped expired CA " + Certificates.describe(ca));
                    continue;
                }
                throw new BundleRejectedException(BundleRejection.INVALID_AUTHORITY, "bundle of " + expected
                        + ", sequence " + candidate.sequence() + ": " + e.getMessage(), e);
            }
        }
        if (kept.isEmpty()) {
            throw new BundleRejectedException(BundleRejection.NO_AUTHORITIES, "bundle of " + expected + ", sequence "
                    + candidate.sequence() + " has no valid x509-svid authority" + (warnings.isEmpty() ? "" : " " + warnings));
        }
        if (previous.isPresent()) {
            TrustBundle prev = previous.get();
            // The replicas of one cluster publish the same CAs under sequences of their own (each starts at its start
            // time), and the load balancer in front of them answers from either: the same keys under an older sequence
            // are the trust already held, not a rollback. An older sequence with other keys still is one.
            if (candidate.sequence() < prev.sequence() && candidate.sameKeysAs(prev)) {
                return new Decision.Unchanged(prev);
            }
            if (candidate.sequence() < prev.sequence()) {
                throw new BundleRejectedException(BundleRejection.SEQUENCE_WENT_BACKWARDS, "bundle of " + expected
                        + " has sequence " + candidate.sequence() + ", older than the accepted " + prev.sequence()
                        + "; keeping " + prev.sequence());
            }
            if (candidate.sequence() == prev.sequence()) {
                if (candidate.sameKeysAs(prev)) {
                    return new Decision.Unchanged(prev);
                }
                throw new BundleRejectedException(BundleRejection.SEQUENCE_REUSED, "bundle of " + expected
                        + " changed its keys without advancing its sequence " + candidate.sequence());
            }
        }
        TrustBundle accepted = kept.size() == candidate.x509Authorities().size() ? candidate
                : candidate.withX509Authorities(kept, candidate.sequence());
        return new Decision.Accept(accepted, warnings);
    }
}
