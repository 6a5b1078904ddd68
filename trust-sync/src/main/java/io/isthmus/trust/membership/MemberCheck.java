package io.isthmus.trust.membership;

import java.util.Optional;

import io.isthmus.trust.bundle.TrustBundle;

/**
 * What probing a member that a document adds found: its bundle endpoint answered with a bundle that chains to a
 * federation root under the member's trust domain; or the endpoint or bundle is not under the root (a definitive
 * refusal); or it could not be reached (not held against the document: its bundle syncs once it is up).
 */
public sealed interface MemberCheck {
    record Verified(TrustBundle bundle) implements MemberCheck {
    }

    record NotUnderRoot(String message) implements MemberCheck {
    }

    record Unreachable(String message) implements MemberCheck {
    }

    default Optional<TrustBundle> verifiedBundle() {
        return this instanceof Verified v ? Optional.of(v.bundle()) : Optional.empty();
    }
}
