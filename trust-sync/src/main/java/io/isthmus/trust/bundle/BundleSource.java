package io.isthmus.trust.bundle;

import java.util.Optional;

import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Where a verifier finds the current bundle of a trust domain. Implementations return the live value on every
 * call (no caching by callers): removing a CA from a bundle must take effect on the next verification.
 * Must be thread-safe and must not block.
 */
@FunctionalInterface
public interface BundleSource {
    Optional<TrustBundle> bundleFor(TrustDomain trustDomain);
}
