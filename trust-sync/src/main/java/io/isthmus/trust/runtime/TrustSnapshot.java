package io.isthmus.trust.runtime;

import java.util.Objects;

import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.svid.X509Svid;

/**
 * Everything a gateway's TLS needs at one instant: its own SVID (key and chain) and the bundles of every
 * federated trust domain. Replaced whole; readers take one snapshot and use it for a whole handshake.
 */
public record TrustSnapshot(X509Svid svid, BundleSet bundles) {
    public TrustSnapshot {
        Objects.requireNonNull(svid, "svid");
        Objects.requireNonNull(bundles, "bundles");
    }

    TrustSnapshot withSvid(X509Svid next) {
        return new TrustSnapshot(next, bundles);
    }

    TrustSnapshot withBundles(BundleSet next) {
        return new TrustSnapshot(svid, next);
    }
}
