package io.isthmus.trust.runtime;

import java.util.Objects;

import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.svid.X509Svid;

/**
 * Everything a gateway's TLS needs at one instant: the federation roots in force, its own SVID (key and chain) and
 * the bundles of every federated trust domain. Replaced whole; readers take one snapshot and use it for a whole
 * handshake.
 */
public record TrustSnapshot(FederationRoots roots, X509Svid svid, BundleSet bundles) {
    public TrustSnapshot {
        Objects.requireNonNull(roots, "roots");
        Objects.requireNonNull(svid, "svid");
        Objects.requireNonNull(bundles, "bundles");
    }

    TrustSnapshot withSvid(X509Svid next) {
        return new TrustSnapshot(roots, next, bundles);
    }

    TrustSnapshot withBundles(BundleSet next) {
        return new TrustSnapshot(roots, svid, next);
    }

    TrustSnapshot withRoots(FederationRoots next) {
        return new TrustSnapshot(next, svid, bundles);
    }

    /** Whether verification may decide differently under {@code other}: its roots or bundles differ. */
    public boolean sameTrustAs(TrustSnapshot other) {
        return other != null && roots.equals(other.roots) && bundles.equals(other.bundles);
    }
}
