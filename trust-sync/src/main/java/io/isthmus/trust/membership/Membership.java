package io.isthmus.trust.membership;

import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

import io.isthmus.trust.spiffe.TrustDomain;

/**
 * The federation's members at one version: what a signed membership document says. Versions only go up; a member
 * takes a document only if its version is higher than the one it holds. Names and trust domains are unique.
 */
public record Membership(long version, Instant issuedAt, List<Member> members) {
    public Membership {
        if (version < 1) {
            throw new InvalidMembershipException(MembershipRefusal.MALFORMED, "version " + version
                    + " must be a positive integer");
        }
        Objects.requireNonNull(issuedAt, "issuedAt");
        members = List.copyOf(members);
        Set<String> names = new HashSet<>();
        Set<TrustDomain> domains = new HashSet<>();
        for (Member m : members) {
            if (!names.add(m.name())) {
                throw new InvalidMembershipException(MembershipRefusal.DUPLICATE_NAME, "two members are named '"
                        + m.name() + "'; each cluster needs its own name");
            }
            if (!domains.add(m.trustDomain())) {
                throw new InvalidMembershipException(MembershipRefusal.DUPLICATE_TRUST_DOMAIN, "two members have trust"
                        + " domain " + m.trustDomain() + " (the second is '" + m.name() + "'); each cluster is its own"
                        + " trust domain");
            }
        }
    }

    public Optional<Member> member(String name) {
        return members.stream().filter(m -> m.name().equals(name)).findFirst();
    }

    public Optional<Member> memberOf(TrustDomain td) {
        return members.stream().filter(m -> m.trustDomain().equals(td)).findFirst();
    }

    /** The same members at {@code nextVersion}, with {@code member} added (or replacing the one of that name). */
    public Membership with(Member member, long nextVersion, Instant at) {
        List<Member> next = new java.util.ArrayList<>(members.stream().filter(m -> !m.name().equals(member.name())).toList());
        next.add(member);
        return new Membership(nextVersion, at, next);
    }

    /** The same members at {@code nextVersion}, without the one named {@code name}. */
    public Membership without(String name, long nextVersion, Instant at) {
        return new Membership(nextVersion, at, members.stream().filter(m -> !m.name().equals(name)).toList());
    }
}
