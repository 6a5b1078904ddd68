package io.isthmus.registry.signing;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;

import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.svid.SvidVerdict;

/**
 * The chain verdict of each registry signer, kept for the trust snapshot it was reached under. A gateway signs every
 * record with the same SVID until it renews it, so verifying that SVID's chain for every record (a signature check of
 * the leaf by its CA, the name constraint, the root) repeats one result thousands of times: it was a fifth of a site's
 * CPU while replicating. A kept verdict is reused only while all of this holds, and is reached again otherwise:
 * <ul>
 * <li>the same leaf (the whole certificate, compared by its encoding, not a fingerprint of part of it);</li>
 * <li>the same federation roots and the same bundle of the leaf's trust domain, as objects: every bundle or root change
 * (a new sequence, a CA removed) is a new object, so a revocation is seen by the very next record;</li>
 * <li>at most {@link #MAX_AGE} old, so that the expiry of the signer's CA or of the root is seen within that (the
 * verifier allows 30 s of skew on those instants anyway).</li>
 * </ul>
 * Only verified chains are kept: a refusal (an unknown CA, a stranger's leaf) is reached again each time, so a forger
 * gains nothing and the operator's message is always current. The signature over the record itself is checked for
 * every record by {@link EntryVerifier}; this changes nothing in that decision, only how often its chain input is
 * computed. Thread-safe.
 */
final class SignerVerdicts {
    static final Duration MAX_AGE = Duration.ofSeconds(10);
    private static final int MAX_KEPT = 1024;

    private record Kept(SvidVerdict.Verified verdict, Object roots, Optional<TrustBundle> bundle, Instant checkedAt) {
    }

    private final Function<List<X509Certificate>, SvidVerdict> chain;
    private final Supplier<Object> roots;
    private final Function<TrustDomain, Optional<TrustBundle>> bundles;
    private final Clock clock;
    private final Map<X509Certificate, Kept> kept = new ConcurrentHashMap<>();
    private final AtomicLong computed = new AtomicLong();

    /**
     * @param chain the verification itself ({@code X509SvidVerifier::verifyEstablished})
     * @param roots the roots in force, compared by identity
     * @param bundles the bundle in force for a trust domain, compared by identity
     */
    SignerVerdicts(Function<List<X509Certificate>, SvidVerdict> chain, Supplier<Object> roots,
            Function<TrustDomain, Optional<TrustBundle>> bundles, Clock clock) {
        this.chain = chain;
        this.roots = roots;
        this.bundles = bundles;
        this.clock = clock;
    }

    SvidVerdict verify(List<X509Certificate> presented) {
        if (presented.size() != 1) {
            computed.incrementAndGet();
            return chain.apply(presented);
        }
        X509Certificate leaf = presented.get(0);
        Instant now = clock.instant();
        Kept k = kept.get(leaf);
        if (k != null && k.roots() == roots.get()
                && sameBundle(k.bundle(), bundles.apply(k.verdict().id().trustDomain()))
                && now.isBefore(k.checkedAt().plus(MAX_AGE)) && !now.isBefore(k.checkedAt())) {
            return k.verdict();
        }
        // Read the snapshot before verifying: a change in between then makes the next record verify again.
        Object rootsNow = roots.get();
        computed.incrementAndGet();
        SvidVerdict verdict = chain.apply(presented);
        if (verdict instanceof SvidVerdict.Verified v) {
            Optional<TrustBundle> bundle = bundles.apply(v.id().trustDomain());
            if (bundle.isPresent() && bundle.get().sequence() == v.bundleSequence()) {
                if (kept.size() >= MAX_KEPT) {
                    kept.clear();
                }
                kept.put(leaf, new Kept(v, rootsNow, bundle, now));
            }
        } else {
            kept.remove(leaf);
        }
        return verdict;
    }

    private static boolean sameBundle(Optional<TrustBundle> a, Optional<TrustBundle> b) {
        return a.isPresent() && b.isPresent() && a.get() == b.get();
    }

    /** How many chains were verified rather than reused (for tests and the benchmark's accounting). */
    long computed() {
        return computed.get();
    }
}
