package io.isthmus.trust.svid;

import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

import io.isthmus.trust.bundle.BundleSource;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.ca.RootsSource;
import io.isthmus.trust.spiffe.InvalidSpiffeIdException;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.SvidVerdict.Rejected;
import io.isthmus.trust.svid.SvidVerdict.Verified;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Crypto;

/**
 * Verifies X.509-SVIDs for the federation: the leaf is a SPIFFE leaf (one URI SAN, not a CA, digitalSignature,
 * no certificate signing); it was signed by a CA that is in the <em>current</em> bundle of the leaf's trust
 * domain; that CA's name constraint permits the trust domain; that CA chains to a federation root; everything
 * is within its validity, allowing {@code skew}. The bundle is read afresh on every call, so removing a CA
 * from a bundle revokes what it signed on the next handshake.
 *
 * <p>Thread-safe. No I/O. The roots are read afresh on every call too (they change at run time while a root
 * rotates). The CA-to-root signature check is cached per CA certificate for one set of roots: certificates are
 * immutable, and a new set of roots starts a new cache.
 */
public final class X509SvidVerifier {
    public static final Duration DEFAULT_SKEW = Duration.ofSeconds(30);
    private static final int KEY_USAGE_DIGITAL_SIGNATURE = 0;
    private static final int KEY_USAGE_KEY_CERT_SIGN = 5;
    private static final int KEY_USAGE_CRL_SIGN = 6;
    private static final int MAX_CACHED_SIGNERS = 1024;

    private final RootsSource roots;
    private final BundleSource bundles;
    private final Clock clock;
    private final Duration skew;
    private final AtomicReference<SignerCache> signers = new AtomicReference<>();

    /** Which root signed each CA seen so far, valid for exactly one set of roots. */
    private record SignerCache(FederationRoots roots, Map<X509Certificate, Optional<X509Certificate>> rootOf) {
    }

    /**
     * What verification needs of a bundle authority, worked out once per CA certificate: its key in BouncyCastle's own
     * form (converting a foreign key on every signature check, and recomputing its point's multiples, cost more than
     * half of a verification) and its permitted URI subtrees. Only authorities taken from bundles are kept here, never
     * a certificate a peer merely presented.
     */
    private record Authority(java.security.PublicKey key, List<String> permitted) {
        static Authority of(X509Certificate ca) {
            return new Authority(Crypto.bcPublicKey(ca.getPublicKey()), Certificates.permittedUriSubtrees(ca));
        }
    }

    private final Map<X509Certificate, Authority> authorities = new ConcurrentHashMap<>();

    /** @param roots and {@code bundles} are read on every verification */
    public X509SvidVerifier(RootsSource roots, BundleSource bundles, Clock clock, Duration skew) {
        this.roots = roots;
        this.bundles = bundles;
        this.clock = clock;
        this.skew = skew;
    }

    /** The roots in force now. */
    public FederationRoots roots() {
        return roots.roots();
    }

    public Duration skew() {
        return skew;
    }

    /**
     * The bundle of {@code trustDomain} that verification reads now. A caller that keeps verdicts (the registry keeps
     * one per signer) reuses one only while this is the same bundle and {@link #roots()} the same roots.
     */
    public Optional<TrustBundle> bundleFor(io.isthmus.trust.spiffe.TrustDomain trustDomain) {
        return bundles.bundleFor(trustDomain);
    }

    /**
     * @param chain as presented by the peer: leaf first, then (optionally) the intermediate that signed it
     */
    public SvidVerdict verify(List<X509Certificate> chain) {
        return verify(chain, true);
    }

    /**
     * The same rules for the peer of a connection that is already established, against the roots and bundles in
     * force now, except that the leaf's own validity period is not checked again: it was checked at the handshake,
     * and a certificate that expires during a connection does not end it (as in TLS itself). Its signer must still
     * be in the bundle and chain to a current root: that is what a revocation or a retirement changes.
     */
    public SvidVerdict verifyEstablished(List<X509Certificate> chain) {
        return verify(chain, false);
    }

    private SvidVerdict verify(List<X509Certificate> chain, boolean checkLeafValidity) {
        if (chain == null || chain.isEmpty()) {
            return new Rejected(SvidRejection.EMPTY_CHAIN, "no certificate presented");
        }
        X509Certificate leaf = chain.get(0);
        List<String> uris;
        try {
            uris = Certificates.uriSans(leaf);
        } catch (IllegalArgumentException e) {
            return new Rejected(SvidRejection.NO_URI_SAN, e.getMessage());
        }
        if (uris.isEmpty()) {
            return new Rejected(SvidRejection.NO_URI_SAN, "leaf " + Certificates.describe(leaf)
                    + " has no URI SAN; an X.509-SVID carries its SPIFFE ID as exactly one URI SAN");
        }
        if (uris.size() > 1) {
            return new Rejected(SvidRejection.MULTIPLE_URI_SANS, "leaf " + Certificates.describe(leaf) + " has "
                    + uris.size() + " URI SANs " + uris + "; an X.509-SVID has exactly one");
        }
        SpiffeId id;
        try {
            id = SpiffeId.parseWorkload(uris.get(0));
        } catch (InvalidSpiffeIdException e) {
            return new Rejected(SvidRejection.INVALID_SPIFFE_ID, e.getMessage());
        }
        if (Certificates.isCa(leaf)) {
            return new Rejected(SvidRejection.LEAF_IS_CA, "leaf for " + id + " has basicConstraints CA:TRUE");
        }
        boolean[] usage = leaf.getKeyUsage();
        if (usage != null && (!flag(usage, KEY_USAGE_DIGITAL_SIGNATURE) || flag(usage, KEY_USAGE_KEY_CERT_SIGN)
                || flag(usage, KEY_USAGE_CRL_SIGN))) {
            return new Rejected(SvidRejection.LEAF_KEY_USAGE, "leaf for " + id
                    + " must have keyUsage digitalSignature and neither keyCertSign nor cRLSign");
        }
        Instant now = clock.instant();
        Instant notAfter = leaf.getNotAfter().toInstant();
        Instant notBefore = leaf.getNotBefore().toInstant();
        if (checkLeafValidity && now.isAfter(notAfter.plus(skew))) {
            return new Rejected(SvidRejection.EXPIRED, "SVID " + id + " expired at " + notAfter + " (now " + now + ")");
        }
        if (checkLeafValidity && now.isBefore(notBefore.minus(skew))) {
            return new Rejected(SvidRejection.NOT_YET_VALID, "SVID " + id + " is not valid before " + notBefore
                    + " (now " + now + "); check the clocks");
        }
        Optional<TrustBundle> maybeBundle = bundles.bundleFor(id.trustDomain());
        if (maybeBundle.isEmpty()) {
            return new Rejected(SvidRejection.NO_BUNDLE_FOR_TRUST_DOMAIN, "no bundle for trust domain "
                    + id.trustDomain() + " (SVID " + id + "); is it a configured peer, and has its bundle been fetched?");
        }
        TrustBundle bundle = maybeBundle.get();
        X509Certificate signer = findSigner(leaf, bundle.x509Authorities());
        if (signer == null) {
            return rejectUnlistedSigner(id, leaf, chain, bundle);
        }
        SvidVerdict signerProblem = checkSigner(id, signer, bundle, now);
        if (signerProblem != null) {
            return signerProblem;
        }
        return new Verified(id, leaf, signer, bundle.sequence());
    }

    private SvidVerdict checkSigner(SpiffeId id, X509Certificate signer, TrustBundle bundle, Instant now) {
        List<String> permitted = authority(signer).permitted();
        if (!permitted.contains(id.trustDomain().name())) {
            return new Rejected(SvidRejection.OUTSIDE_NAME_CONSTRAINTS, id + " is outside the name constraints of signer "
                    + Certificates.describe(signer) + ", which permit " + (permitted.isEmpty() ? "nothing" : permitted));
        }
        if (now.isAfter(signer.getNotAfter().toInstant().plus(skew))) {
            return new Rejected(SvidRejection.SIGNER_EXPIRED, "signer " + Certificates.describe(signer) + " of " + id
                    + " expired at " + signer.getNotAfter().toInstant());
        }
        if (now.isBefore(signer.getNotBefore().toInstant().minus(skew))) {
            return new Rejected(SvidRejection.SIGNER_NOT_YET_VALID, "signer " + Certificates.describe(signer) + " of "
                    + id + " is not valid before " + signer.getNotBefore().toInstant());
        }
        Optional<X509Certificate> root = rootOf(signer);
        if (root.isEmpty()) {
            return new Rejected(SvidRejection.UNKNOWN_ROOT, "signer " + Certificates.describe(signer)
                    + " in the bundle of " + bundle.trustDomain() + " does not chain to a federation root in force "
                    + "(issuer " + signer.getIssuerX500Principal().getName() + ")");
        }
        Instant rootNotAfter = root.get().getNotAfter().toInstant();
        if (now.isAfter(rootNotAfter.plus(skew))) {
            return new Rejected(SvidRejection.SIGNER_EXPIRED, "federation root " + Certificates.describe(root.get())
                    + " expired at " + rootNotAfter);
        }
        return null;
    }

    /** The leaf's signer is not in the bundle: say whether it is a stranger, out of bounds, or revoked. */
    private SvidVerdict rejectUnlistedSigner(SpiffeId id, X509Certificate leaf, List<X509Certificate> chain,
            TrustBundle bundle) {
        X509Certificate presented = chain.size() > 1 ? chain.get(1) : null;
        if (presented == null || !leaf.getIssuerX500Principal().equals(presented.getSubjectX500Principal())) {
            return new Rejected(SvidRejection.SIGNER_NOT_IN_BUNDLE, "the issuer of " + id + " ("
                    + leaf.getIssuerX500Principal().getName() + ") is not in the bundle of " + bundle.trustDomain()
                    + ", sequence " + bundle.sequence());
        }
        if (!verifies(leaf, presented.getPublicKey())) {
            return new Rejected(SvidRejection.BAD_SIGNATURE, "leaf " + Certificates.describe(leaf) + " for " + id
                    + " is not signed by the presented intermediate " + Certificates.describe(presented));
        }
        if (rootOf(presented).isEmpty()) {
            return new Rejected(SvidRejection.UNKNOWN_ROOT, "intermediate " + Certificates.describe(presented)
                    + " that signed " + id + " does not chain to a federation root (issuer "
                    + presented.getIssuerX500Principal().getName() + ")");
        }
        List<String> permitted = Certificates.permittedUriSubtrees(presented);
        if (!permitted.contains(id.trustDomain().name())) {
            return new Rejected(SvidRejection.OUTSIDE_NAME_CONSTRAINTS, id + " is outside the name constraints of signer "
                    + Certificates.describe(presented) + ", which permit " + (permitted.isEmpty() ? "nothing" : permitted));
        }
        return new Rejected(SvidRejection.SIGNER_NOT_IN_BUNDLE, "intermediate serial " + Certificates.serialHex(presented)
                + " is not in the bundle of " + bundle.trustDomain() + ", sequence " + bundle.sequence()
                + " (it signed " + id + "; it was removed from the bundle or never published)");
    }

    private X509Certificate findSigner(X509Certificate leaf, List<X509Certificate> bundleAuthorities) {
        for (X509Certificate ca : bundleAuthorities) {
            if (leaf.getIssuerX500Principal().equals(ca.getSubjectX500Principal())
                    && Crypto.signatureVerifies(leaf, authority(ca).key())) {
                return ca;
            }
        }
        return null;
    }

    private Authority authority(X509Certificate bundleAuthority) {
        Authority known = authorities.get(bundleAuthority);
        if (known != null) {
            return known;
        }
        if (authorities.size() > MAX_CACHED_SIGNERS) {
            authorities.clear();
        }
        return authorities.computeIfAbsent(bundleAuthority, Authority::of);
    }

    private Optional<X509Certificate> rootOf(X509Certificate signer) {
        FederationRoots current = roots.roots();
        SignerCache cache = signers.get();
        if (cache == null || cache.roots() != current) {
            cache = new SignerCache(current, new ConcurrentHashMap<>());
            signers.set(cache);
        }
        Map<X509Certificate, Optional<X509Certificate>> rootOfSigner = cache.rootOf();
        Optional<X509Certificate> cached = rootOfSigner.get(signer);
        if (cached != null) {
            return cached;
        }
        Optional<X509Certificate> root = Optional.empty();
        for (X509Certificate candidate : current.certificates()) {
            if (signer.getIssuerX500Principal().equals(candidate.getSubjectX500Principal())
                    && verifies(signer, candidate.getPublicKey())) {
                root = Optional.of(candidate);
                break;
            }
        }
        if (rootOfSigner.size() > MAX_CACHED_SIGNERS) {
            rootOfSigner.clear();
        }
        rootOfSigner.put(signer, root);
        return root;
    }

    private static boolean verifies(X509Certificate cert, PublicKey key) {
        try {
            cert.verify(key, Crypto.BC);
            return true;
        } catch (java.security.GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    private static boolean flag(boolean[] bits, int i) {
        return bits.length > i && bits[i];
    }
}
