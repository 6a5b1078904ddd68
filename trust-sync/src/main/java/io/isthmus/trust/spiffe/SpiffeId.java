package io.isthmus.trust.spiffe;

import java.util.Objects;
import java.util.Optional;

/**
 * A SPIFFE ID: {@code spiffe://<trust domain><path>}. The path is empty (the trust domain's own ID) or
 * starts with '/' and follows the segment rules of the specification. Instances are always valid.
 */
public record SpiffeId(TrustDomain trustDomain, String path) implements Comparable<SpiffeId> {

    public SpiffeId {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(path, "path");
        SpiffeIdError error = SpiffeIds.checkPath(path);
        if (error == null && SpiffeIds.PREFIX.length() + trustDomain.name().length() + path.length() > SpiffeIds.MAX_LENGTH) {
            error = SpiffeIdError.TOO_LONG;
        }
        if (error != null) {
            throw new InvalidSpiffeIdException(error, SpiffeIds.PREFIX + trustDomain.name() + path);
        }
    }

    /**
     * Parses {@code spiffe://td/path...}. The trust domain's own ID (no path) is accepted; use
     * {@link #parseWorkload} where a workload identity is required.
     *
     * @throws InvalidSpiffeIdException naming the broken rule
     */
    public static SpiffeId parse(String text) {
        return SpiffeIds.parse(text, false);
    }

    /** Like {@link #parse} but also requires a non-empty path, as X.509-SVID leaf certificates do. */
    public static SpiffeId parseWorkload(String text) {
        return SpiffeIds.parse(text, true);
    }

    /** Parses without throwing, for hot paths that only need yes or no. */
    public static Optional<SpiffeId> tryParse(String text) {
        try {
            return Optional.of(parse(text));
        } catch (InvalidSpiffeIdException e) {
            return Optional.empty();
        }
    }

    /** The Kubernetes-style workload ID {@code spiffe://td/ns/<namespace>/sa/<serviceAccount>}. */
    public static SpiffeId ofServiceAccount(TrustDomain td, String namespace, String serviceAccount) {
        return new SpiffeId(td, "/ns/" + namespace + "/sa/" + serviceAccount);
    }

    public boolean memberOf(TrustDomain td) {
        return trustDomain.equals(td);
    }

    /**
     * Whether this ID is {@code base} itself or under its path, in the same trust domain: the rule for what a VM (or
     * any workload) may name for the workloads it hosts. "Under" is segment-wise: {@code /vm/web2} is a sibling of
     * {@code /vm/web}, not a child. Dot segments, percent encoding and trailing slashes cannot fool it, because no
     * {@code SpiffeId} holds one. A trust domain's own ID ({@code spiffe://td}) has nothing under it: a base with an
     * empty path matches only itself, so an identity without a path can never claim the whole trust domain.
     */
    public boolean isSelfOrUnder(SpiffeId base) {
        if (!trustDomain.equals(base.trustDomain)) {
            return false;
        }
        String own = base.path;
        if (path.equals(own)) {
            return true;
        }
        return !own.isEmpty() && path.length() > own.length() && path.startsWith(own) && path.charAt(own.length()) == '/';
    }

    @Override
    public int compareTo(SpiffeId o) {
        return toString().compareTo(o.toString());
    }

    @Override
    public String toString() {
        return SpiffeIds.PREFIX + trustDomain.name() + path;
    }
}
