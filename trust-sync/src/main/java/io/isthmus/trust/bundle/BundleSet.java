package io.isthmus.trust.bundle;

import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import io.isthmus.trust.spiffe.TrustDomain;

/** An immutable snapshot of the bundles of all federated trust domains, keyed by trust domain. */
public record BundleSet(Map<TrustDomain, TrustBundle> bundles) implements BundleSource {

    public BundleSet {
        bundles.forEach((td, b) -> {
            if (!b.trustDomain().equals(td)) {
                throw new IllegalArgumentException("bundle of " + b.trustDomain() + " filed under " + td);
            }
        });
        bundles = Map.copyOf(bundles);
    }

    public static BundleSet empty() {
        return new BundleSet(Map.of());
    }

    public static BundleSet of(Collection<TrustBundle> bundles) {
        Map<TrustDomain, TrustBundle> map = new TreeMap<>();
        for (TrustBundle b : bundles) {
            map.put(b.trustDomain(), b);
        }
        return new BundleSet(map);
    }

    @Override
    public Optional<TrustBundle> bundleFor(TrustDomain trustDomain) {
        return Optional.ofNullable(bundles.get(trustDomain));
    }

    /** A new set with {@code bundle} added or replaced. */
    public BundleSet with(TrustBundle bundle) {
        Map<TrustDomain, TrustBundle> map = new TreeMap<>(bundles);
        map.put(bundle.trustDomain(), bundle);
        return new BundleSet(map);
    }

    /** A new set without the bundle of {@code trustDomain}. */
    public BundleSet without(TrustDomain trustDomain) {
        Map<TrustDomain, TrustBundle> map = new TreeMap<>(bundles);
        map.remove(trustDomain);
        return new BundleSet(map);
    }

    /** Trust domains in name order. */
    public java.util.List<TrustDomain> trustDomains() {
        return bundles.keySet().stream().sorted().toList();
    }
}
