package io.isthmus.trust.federation;

import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * Told of each poll's outcome, for metrics and audit. Called on the sync's own threads; must not block.
 */
public interface SyncListener {
    default void accepted(TrustDomain peer, TrustBundle bundle) {
    }

    default void rejected(TrustDomain peer, BundleRejection reason, String message) {
    }
}
