package io.isthmus.trust.membership;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import io.isthmus.trust.spiffe.TrustDomain;

/**
 * A membership document that was taken, as the parts of a gateway that apply it see it: what was in force before,
 * what is now, and what probing the added members found (their bundles, where they answered).
 *
 * @param self this cluster's name
 */
public record MembershipChange(Optional<SignedMembership> previous, SignedMembership next, String self,
        Map<TrustDomain, MemberCheck> checks) {
    public MembershipChange {
        checks = Map.copyOf(checks);
    }

    /** Whether this cluster is listed: a cluster that is not federates with nobody. */
    public boolean selfIsMember() {
        return next.membership().member(self).isPresent();
    }

    /** The members this cluster federates with: every other member, or none when this cluster is not listed. */
    public List<Member> peers() {
        return peersOf(next.membership(), self);
    }

    /** The trust domains that were peers before and are not now. */
    public Set<TrustDomain> removedTrustDomains() {
        Set<TrustDomain> now = peers().stream().map(Member::trustDomain).collect(Collectors.toSet());
        return previous.map(p -> peersOf(p.membership(), self).stream().map(Member::trustDomain)
                .filter(td -> !now.contains(td)).collect(Collectors.toSet())).orElse(Set.of());
    }

    /** Every other member of {@code m}, or none when {@code self} is not listed. */
    public static List<Member> peersOf(Membership m, String self) {
        if (m.member(self).isEmpty()) {
            return List.of();
        }
        return m.members().stream().filter(x -> !x.name().equals(self)).toList();
    }
}
