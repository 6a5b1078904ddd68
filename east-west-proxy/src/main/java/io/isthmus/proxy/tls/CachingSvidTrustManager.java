package io.isthmus.proxy.tls;

import java.nio.ByteBuffer;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;


import io.isthmus.trust.bundle.BundleSource;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.svid.SvidRejection;
import io.isthmus.trust.svid.SvidVerdict;
import io.isthmus.trust.svid.X509SvidVerifier;
import io.isthmus.trust.tls.PeerPolicy;
import io.isthmus.trust.tls.SpiffeTrustManager;
import io.isthmus.trust.tls.SvidCertificateException;

/**
 * {@link SpiffeTrustManager} with a memory: peer gateways reconnect with the same SVID for its whole lifetime, and
 * verifying its signature is three quarters of a handshake's Java time. A positive verdict is reused for the same
 * leaf certificate (byte for byte) only while the bundle of its trust domain and the federation roots are
 * <em>equal</em> to those it was verified against, for at most {@link #TTL}, and never past the leaf's or its signer's
 * expiry. A changed bundle
 * (a revoked intermediate) therefore misses the cache and is verified in full; rejections are never cached.
 * The peer policy is checked on every handshake. Thread-safe, no I/O.
 */
final class CachingSvidTrustManager extends io.isthmus.trust.tls.ChainCheckingTrustManager {
    static final Duration TTL = Duration.ofSeconds(60);
    private static final int MAX_ENTRIES = 10_000;

    private final X509SvidVerifier verifier;
    private final BundleSource bundles;
    private final PeerPolicy policy;
    private final Clock clock;
    private final ConcurrentMap<ByteBuffer, Entry> verified = new ConcurrentHashMap<>();

    private record Entry(SpiffeId id, TrustBundle bundle, FederationRoots roots, Instant until) {
    }

    CachingSvidTrustManager(X509SvidVerifier verifier, BundleSource bundles, PeerPolicy policy, Clock clock) {
        this.verifier = verifier;
        this.bundles = bundles;
        this.policy = policy;
        this.clock = clock;
    }

    @Override
    public void check(X509Certificate[] chain) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new SvidCertificateException(SvidRejection.EMPTY_CHAIN, "no certificate presented");
        }
        ByteBuffer key;
        try {
            key = ByteBuffer.wrap(chain[0].getEncoded());
        } catch (CertificateEncodingException e) {
            throw new SvidCertificateException(SvidRejection.NO_URI_SAN, "unreadable leaf: " + e.getMessage());
        }
        Instant now = clock.instant();
        SpiffeId id = cached(key, now);
        if (id == null) {
            SvidVerdict verdict = verifier.verify(Arrays.asList(chain));
            if (verdict instanceof SvidVerdict.Rejected rejected) {
                throw new SvidCertificateException(rejected.reason(), rejected.message());
            }
            SvidVerdict.Verified ok = (SvidVerdict.Verified) verdict;
            id = ok.id();
            remember(key, ok, now);
        }
        String expected = policy.check(id);
        if (expected != null) {
            throw new SvidCertificateException(SvidRejection.UNEXPECTED_ID, "peer " + id + " is not " + expected);
        }
    }

    private SpiffeId cached(ByteBuffer key, Instant now) {
        Entry e = verified.get(key);
        if (e == null) {
            return null;
        }
        Optional<TrustBundle> current = bundles.bundleFor(e.id().trustDomain());
        if (now.isBefore(e.until()) && current.isPresent() && current.get().equals(e.bundle())
                && verifier.roots().equals(e.roots())) {
            return e.id();
        }
        verified.remove(key, e);
        return null;
    }

    private void remember(ByteBuffer key, SvidVerdict.Verified ok, Instant now) {
        Optional<TrustBundle> bundle = bundles.bundleFor(ok.id().trustDomain());
        // Only if the bundle has not moved on since the verifier read it (sequence numbers only go forward).
        if (bundle.isEmpty() || bundle.get().sequence() != ok.bundleSequence()) {
            return;
        }
        Instant until = min(now.plus(TTL), ok.leaf().getNotAfter().toInstant(), ok.signer().getNotAfter().toInstant());
        if (verified.size() >= MAX_ENTRIES) {
            verified.clear();
        }
        verified.put(key, new Entry(ok.id(), bundle.get(), verifier.roots(), until));
    }

    private static Instant min(Instant a, Instant b, Instant c) {
        Instant m = a.isBefore(b) ? a : b;
        return m.isBefore(c) ? m : c;
    }
}
