package io.isthmus.trust.membership;

import java.security.cert.X509Certificate;
import java.util.Objects;

/**
 * A membership document that verified: what it says, the signed form it arrived in (passed on unchanged, so every
 * member re-verifies the root's own signature), and the root that signed it.
 */
public record SignedMembership(Membership membership, String compact, X509Certificate signer) {
    public SignedMembership {
        Objects.requireNonNull(membership, "membership");
        Objects.requireNonNull(compact, "compact");
        Objects.requireNonNull(signer, "signer");
    }

    public long version() {
        return membership.version();
    }
}
