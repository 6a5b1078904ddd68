package io.isthmus.proxy.authz.suggest;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * The callers of one service, grouped as they arrive: the identities of one namespace of one trust domain stay
 * exact until more than {@code threshold} distinct ones were seen, then they become one namespace wildcard; the
 * namespaces of one trust domain (IDs not shaped {@code /ns/<ns>/...} count one each) likewise become one trust
 * domain. So the state per trust domain is at most about {@code threshold²} keys whatever the logs hold, and a
 * wildcard only ever stands for a group that was seen broadly. Not thread-safe.
 */
final class Callers {
    private final int threshold;
    private final Budget budget;
    private final Map<TrustDomain, Domain> domains = new HashMap<>();

    Callers(int threshold, Budget budget) {
        if (threshold < 1) {
            throw new IllegalArgumentException("the grouping threshold must be at least 1, got " + threshold);
        }
        this.threshold = threshold;
        this.budget = budget;
    }

    private static final class Domain {
        Access whole;
        final Map<String, Namespace> namespaces = new HashMap<>();
        final Map<SpiffeId, Access> unscoped = new HashMap<>();
    }

    private static final class Namespace {
        Access whole;
        final Map<SpiffeId, Access> principals = new HashMap<>();
    }

    /** Where a request of {@code caller} is recorded; empty when the budget cannot hold a new key. */
    Optional<Access> accessFor(SpiffeId caller) {
        Domain d = domains.get(caller.trustDomain());
        if (d == null) {
            if (!budget.tryTake(1)) {
                return Optional.empty();
            }
            d = new Domain();
            domains.put(caller.trustDomain(), d);
        }
        if (d.whole != null) {
            return Optional.of(d.whole);
        }
        Optional<String> ns = namespaceOf(caller);
        if (ns.isEmpty()) {
            Access a = d.unscoped.get(caller);
            if (a != null) {
                return Optional.of(a);
            }
            if (groups(d) + 1 > threshold) {
                return collapse(d);
            }
            return newAccess().map(x -> {
                domainOf(caller).unscoped.put(caller, x);
                return x;
            });
        }
        Namespace n = d.namespaces.get(ns.get());
        if (n == null) {
            if (groups(d) + 1 > threshold) {
                return collapse(d);
            }
            if (!budget.tryTake(1)) {
                return Optional.empty();
            }
            n = new Namespace();
            d.namespaces.put(ns.get(), n);
        }
        if (n.whole != null) {
            return Optional.of(n.whole);
        }
        Access a = n.principals.get(caller);
        if (a != null) {
            return Optional.of(a);
        }
        if (n.principals.size() + 1 > threshold) {
            Optional<Access> whole = newAccess();
            if (whole.isPresent()) {
                n.principals.values().forEach(whole.get()::absorb);
                n.principals.clear();
                n.whole = whole.get();
            }
            return whole;
        }
        Namespace target = n;
        return newAccess().map(x -> {
            target.principals.put(caller, x);
            return x;
        });
    }

    private Domain domainOf(SpiffeId caller) {
        return domains.get(caller.trustDomain());
    }

    private static int groups(Domain d) {
        return d.namespaces.size() + d.unscoped.size();
    }

    private Optional<Access> collapse(Domain d) {
        Optional<Access> whole = newAccess();
        if (whole.isEmpty()) {
            return whole;
        }
        Access w = whole.get();
        for (Namespace n : d.namespaces.values()) {
            if (n.whole != null) {
                w.absorb(n.whole);
            }
            n.principals.values().forEach(w::absorb);
            budget.give(1);
        }
        d.unscoped.values().forEach(w::absorb);
        d.namespaces.clear();
        d.unscoped.clear();
        d.whole = w;
        return whole;
    }

    private Optional<Access> newAccess() {
        return budget.tryTake(1) ? Optional.of(new Access(budget)) : Optional.empty();
    }

    /** Every key with what it did, in {@link PrincipalKey} order. */
    TreeMap<PrincipalKey, Access> keys() {
        TreeMap<PrincipalKey, Access> out = new TreeMap<>();
        domains.forEach((td, d) -> {
            if (d.whole != null) {
                out.put(new PrincipalKey.Domain(td), d.whole);
                return;
            }
            d.unscoped.forEach((id, a) -> out.put(new PrincipalKey.Exact(id), a));
            d.namespaces.forEach((ns, n) -> {
                if (n.whole != null) {
                    out.put(new PrincipalKey.Namespace(td, ns), n.whole);
                }
                n.principals.forEach((id, a) -> out.put(new PrincipalKey.Exact(id), a));
            });
        });
        return out;
    }

    int threshold() {
        return threshold;
    }

    /**
     * {@code <ns>} of an ID shaped {@code /ns/<ns>/<more>}: one the wildcard {@code spiffe://<td>/ns/<ns>/*} covers.
     * Any other ID (including {@code /ns/<ns>} alone) stays exact until its trust domain is grouped.
     */
    static Optional<String> namespaceOf(SpiffeId id) {
        String p = id.path();
        if (!p.startsWith("/ns/")) {
            return Optional.empty();
        }
        int end = p.indexOf('/', 4);
        if (end <= 4 || end == p.length() - 1) {
            return Optional.empty();
        }
        return Optional.of(p.substring(4, end));
    }
}
