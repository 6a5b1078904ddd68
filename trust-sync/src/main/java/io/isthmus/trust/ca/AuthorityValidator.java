package io.isthmus.trust.ca;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Certificates;

/**
 * Decides whether a CA certificate may be the signing authority of a trust domain in this federation: a CA,
 * signed by a federation root, name-constrained to exactly that trust domain, and valid now. Used when a
 * cluster installs a new intermediate and when a peer's bundle arrives. Pure apart from reading the current roots;
 * thread-safe.
 */
public final class AuthorityValidator {
    private final RootsSource roots;
    private final Duration skew;

    /** @param roots read on every call: a root added or removed at run time applies at once */
    public AuthorityValidator(RootsSource roots, Duration skew) {
        this.roots = roots;
        this.skew = skew;
    }

    /**
     * @return the root that signed {@code ca}
     * @throws InvalidAuthorityException naming the first rule broken
     */
    public X509Certificate validate(X509Certificate ca, TrustDomain td, Instant now) {
        if (!Certificates.isCa(ca)) {
            throw new InvalidAuthorityException(AuthorityError.NOT_CA, ca, td, null);
        }
        boolean[] usage = ca.getKeyUsage();
        if (usage != null && (usage.length <= 5 || !usage[5])) {
            throw new InvalidAuthorityException(AuthorityError.NO_KEY_CERT_SIGN, ca, td, null);
        }
        X509Certificate root = roots.roots().issuerOf(ca).orElseThrow(() -> new InvalidAuthorityException(
                AuthorityError.NOT_FROM_FEDERATION_ROOT, ca, td, "issuer " + ca.getIssuerX500Principal().getName()));
        if (now.isAfter(root.getNotAfter().toInstant().plus(skew))
                || now.isBefore(root.getNotBefore().toInstant().minus(skew))) {
            throw new InvalidAuthorityException(AuthorityError.ROOT_EXPIRED, ca, td,
                    "root " + Certificates.describe(root) + " valid until " + root.getNotAfter().toInstant());
        }
        List<String> permitted = Certificates.permittedUriSubtrees(ca);
        if (permitted.isEmpty()) {
            throw new InvalidAuthorityException(AuthorityError.NO_NAME_CONSTRAINTS, ca, td, null);
        }
        if (!permitted.equals(List.of(td.name()))) {
            throw new InvalidAuthorityException(AuthorityError.WRONG_NAME_CONSTRAINTS, ca, td,
                    "permits " + String.join(", ", permitted));
        }
        if (now.isAfter(ca.getNotAfter().toInstant().plus(skew))) {
            throw new InvalidAuthorityException(AuthorityError.EXPIRED, ca, td, "at " + ca.getNotAfter().toInstant());
        }
        if (now.isBefore(ca.getNotBefore().toInstant().minus(skew))) {
            throw new InvalidAuthorityException(AuthorityError.NOT_YET_VALID, ca, td,
                    "until " + ca.getNotBefore().toInstant());
        }
        return root;
    }
}
