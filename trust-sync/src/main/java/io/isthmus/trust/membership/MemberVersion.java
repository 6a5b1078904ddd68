package io.isthmus.trust.membership;

import java.util.Optional;
import java.util.OptionalLong;

import io.isthmus.trust.spiffe.TrustDomain;

/** Which membership version one member holds, as it answered (or why it did not). */
public record MemberVersion(String name, TrustDomain trustDomain, OptionalLong version, Optional<String> error) {
}
