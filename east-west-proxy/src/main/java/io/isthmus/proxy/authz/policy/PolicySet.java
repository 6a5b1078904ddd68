package io.isthmus.proxy.authz.policy;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.DenyReason;

/**
 * An immutable snapshot of the destination cluster's policies and the pure function that decides a request.
 *
 * <p>Evaluation, as Istio's: (1) if any DENY policy that applies to the destination matches, deny
 * ({@code explicit-deny}, naming that policy); (2) if ALLOW policies apply and one matches, allow, naming it;
 * (3) otherwise deny ({@code no-matching-allow}). <b>Unlike Istio, a service that no ALLOW policy applies to is
 * denied: federated traffic is default deny.</b> AUDIT policies never change the outcome; every matching one is
 * listed in {@link Decision#auditMatches()}.
 *
 * <p>Attributes a request does not have (method and path of L4 traffic, the namespace of a SPIFFE ID not shaped
 * {@code /ns/<ns>/sa/<sa>}, see {@link Source#namespaceOf}) fail closed, as Istio does for HTTP-only fields on TCP:
 * in an ALLOW rule a condition on them does not match; in a DENY (and AUDIT) rule it does. So does a path template
 * against a path a backend could split into other segments ({@link PathTemplate#ambiguous}, only possible with path
 * normalization {@code none}).
 *
 * <p>Policies are evaluated in {@code namespace/name} order, so the naming of the deciding policy is
 * deterministic. Thread-safe (immutable).
 *
 * <p><b>Observe mode and dry runs.</b> Only enforced policies take part in the above. A destination whose most
 * specific mode policy says OBSERVE (see {@link #decide}) is allowed, and the decision carries the verdict the
 * enforced policies would have made ({@link Decision#observed()}), with one exception: a mode policy of a namespace
 * (not of the root namespace) does not lift the root namespace's DENY policies, the mesh's guardrails; a request one
 * of them matches is denied by it. Only a mode policy of the root namespace (the mesh, or
 * {@code isthmus.authz.observe=*}) observes those too. Dry-run policies are evaluated beside them on
 * every request and their verdict rides along ({@link Decision#dryRun()}); neither ever changes what happens.
 */
public final class PolicySet {
    private static final String SPIFFE_SCHEME = "spiffe://";

    private final String rootNamespace;
    private final List<AuthorizationPolicy> policies;
    private final Map<String, List<AuthorizationPolicy>> byNamespace;

    private PolicySet(String rootNamespace, Collection<AuthorizationPolicy> policies) {
        this.rootNamespace = Objects.requireNonNull(rootNamespace, "rootNamespace");
        List<AuthorizationPolicy> sorted = new ArrayList<>(policies);
        sorted.sort(Comparator.comparing(AuthorizationPolicy::id).thenComparing(AuthorizationPolicy::origin));
        this.policies = List.copyOf(sorted);
        Map<String, List<AuthorizationPolicy>> index = new HashMap<>();
        for (AuthorizationPolicy p : this.policies) {
            index.computeIfAbsent(p.id().namespace(), k -> new ArrayList<>()).add(p);
        }
        index.replaceAll((k, v) -> List.copyOf(v));
        this.byNamespace = Map.copyOf(index);
    }

    public static PolicySet empty(String rootNamespace) {
        return new PolicySet(rootNamespace, List.of());
    }

    public static PolicySet of(String rootNamespace, Collection<AuthorizationPolicy> policies) {
        return new PolicySet(rootNamespace, policies);
    }

    public String rootNamespace() {
        return rootNamespace;
    }

    /** All policies, sorted by {@code namespace/name}. */
    public List<AuthorizationPolicy> policies() {
        return policies;
    }

    public int size() {
        return policies.size();
    }

    /** Decides {@code request}. Pure and non-blocking. */
    public Decision decide(AccessRequest request) {
        String ns = request.destination().namespace();
        String svc = request.destination().service();
        List<AuthorizationPolicy> candidates = applicable(ns, svc);
        Attributes attrs = Attributes.of(request);

        Decision verdict = evaluate(candidates, AuthorizationPolicy::enforced, attrs, ns, svc);
        Optional<Decision> dryRun = candidates.stream().anyMatch(AuthorizationPolicy::dryRun)
                ? Optional.of(shadow(candidates, attrs, ns, svc)) : Optional.empty();
        Optional<AuthorizationPolicy> observing = mode(candidates, ns)
                .filter(p -> p.mode().orElseThrow() == PolicyMode.OBSERVE);
        if (observing.isPresent()) {
            if (!observing.get().id().namespace().equals(rootNamespace)) {
                // A namespace (or a service of it) in observe mode has its own policies observed; the mesh's DENY
                // policies (the root namespace's) still deny, as no policy of a namespace can outweigh them.
                // Otherwise whoever may write one namespace's policies could lift the mesh owner's guardrails.
                Decision meshDeny = firstDeny(candidates,
                        p -> p.enforced() && p.id().namespace().equals(rootNamespace), attrs, verdict.auditMatches());
                if (meshDeny != null) {
                    return meshDeny.withDryRun(dryRun);
                }
            }
            return new Decision.Allowed(observing.get().id().toString(), Decision.OBSERVE_RULE,
                    verdict.auditMatches(), Optional.of(verdict), dryRun);
        }
        return verdict.withDryRun(dryRun);
    }

    /**
     * The mode policy that governs the destination: the most specific one (a policy of the destination's namespace
     * before one of the root namespace, one naming the service in its selector before one without), and at equal
     * specificity ENFORCE before OBSERVE, so that a conflict fails safe. Empty: enforce.
     */
    private Optional<AuthorizationPolicy> mode(List<AuthorizationPolicy> candidates, String ns) {
        AuthorizationPolicy best = null;
        int bestRank = -1;
        for (AuthorizationPolicy p : candidates) {
            if (p.mode().isEmpty()) {
                continue;
            }
            int rank = (p.id().namespace().equals(ns) ? 4 : 0) + (p.selectorServices().isEmpty() ? 0 : 2)
                    + (p.mode().get() == PolicyMode.ENFORCE ? 1 : 0);
            if (rank > bestRank) {
                best = p;
                bestRank = rank;
            }
        }
        return Optional.ofNullable(best);
    }

    /** The decision of the policies {@code use} selects, as enforcement makes it. */
    private static Decision evaluate(List<AuthorizationPolicy> candidates,
            Predicate<AuthorizationPolicy> use, Attributes attrs, String ns, String svc) {
        List<String> audits = new ArrayList<>(0);
        for (AuthorizationPolicy p : candidates) {
            if (use.test(p) && p.action() == PolicyAction.AUDIT && matchingRule(p, attrs) >= 0) {
                audits.add(p.id().toString());
            }
        }
        Decision denied = firstDeny(candidates, use, attrs, audits);
        if (denied != null) {
            return denied;
        }
        int allowPolicies = 0;
        for (AuthorizationPolicy p : candidates) {
            if (!use.test(p) || p.action() != PolicyAction.ALLOW) {
                continue;
            }
            allowPolicies++;
            int rule = matchingRule(p, attrs);
            if (rule >= 0) {
                return new Decision.Allowed(p.id().toString(), ruleName(rule), audits);
            }
        }
        String detail = allowPolicies == 0
                ? "no ALLOW policy applies to " + svc + "." + ns + " (federated traffic is denied by default); "
                        + "request " + attrs.describe()
                : "none of the " + allowPolicies + " ALLOW policies for " + svc + "." + ns + " matched "
                        + attrs.describe();
        return new Decision.Denied(DenyReason.NO_MATCHING_ALLOW, "", "", detail, audits);
    }

    private static Decision firstDeny(List<AuthorizationPolicy> candidates,
            Predicate<AuthorizationPolicy> use, Attributes attrs, List<String> audits) {
        for (AuthorizationPolicy p : candidates) {
            if (!use.test(p) || p.action() != PolicyAction.DENY) {
                continue;
            }
            int rule = matchingRule(p, attrs);
            if (rule >= 0) {
                return new Decision.Denied(DenyReason.EXPLICIT_DENY, p.id().toString(), ruleName(rule),
                        "DENY policy " + p.id() + " " + ruleName(rule) + " matched " + attrs.describe(), audits);
            }
        }
        return null;
    }

    /**
     * The dry-run verdict, as Istio's shadow rules: the dry-run policies on their own. A matching dry-run DENY
     * would deny; otherwise, when dry-run ALLOW policies apply, the request would be allowed only if one matches
     * (so a tighter ALLOW can be watched next to the broad one in force); with only dry-run DENYs and none
     * matching, it would be allowed (policy and rule empty).
     */
    private static Decision shadow(List<AuthorizationPolicy> candidates, Attributes attrs, String ns, String svc) {
        boolean dryAllows = candidates.stream().anyMatch(p -> p.dryRun() && p.action() == PolicyAction.ALLOW);
        if (dryAllows) {
            return evaluate(candidates, AuthorizationPolicy::dryRun, attrs, ns, svc);
        }
        Decision denied = firstDeny(candidates, AuthorizationPolicy::dryRun, attrs, List.of());
        return denied != null ? denied : new Decision.Allowed("", "", List.of());
    }

    private List<AuthorizationPolicy> applicable(String ns, String svc) {
        List<AuthorizationPolicy> result = new ArrayList<>();
        addApplicable(byNamespace.get(rootNamespace), ns, svc, result);
        if (!ns.equals(rootNamespace)) {
            addApplicable(byNamespace.get(ns), ns, svc, result);
        }
        return result;
    }

    private void addApplicable(List<AuthorizationPolicy> list, String ns, String svc,
            List<AuthorizationPolicy> out) {
        if (list != null) {
            for (AuthorizationPolicy p : list) {
                if (p.appliesTo(ns, svc, rootNamespace)) {
                    out.add(p);
                }
            }
        }
    }

    static String ruleName(int index) {
        return "rules[" + index + "]";
    }

    /** Index of the first rule of {@code p} that matches, or -1. */
    private static int matchingRule(AuthorizationPolicy p, Attributes a) {
        boolean unknownMatches = p.action() != PolicyAction.ALLOW;
        List<Rule> rules = p.rules();
        for (int i = 0; i < rules.size(); i++) {
            if (matches(rules.get(i), a, unknownMatches)) {
                return i;
            }
        }
        return -1;
    }

    private static boolean matches(Rule rule, Attributes a, boolean unknownMatches) {
        if (!rule.from().isEmpty() && rule.from().stream().noneMatch(s -> matches(s, a, unknownMatches))) {
            return false;
        }
        return rule.to().isEmpty() || rule.to().stream().anyMatch(o -> matches(o, a, unknownMatches));
    }

    private static boolean matches(Source s, Attributes a, boolean unknownMatches) {
        return principals(s.principals(), a, true) && principals(s.notPrincipals(), a, false)
                && field(s.trustDomains(), s.notTrustDomains(), Optional.of(a.trustDomain), unknownMatches)
                && field(s.namespaces(), s.notNamespaces(), a.namespace, unknownMatches);
    }

    private static boolean matches(Operation o, Attributes a, boolean unknownMatches) {
        return field(o.methods(), o.notMethods(), a.method, unknownMatches)
                && field(o.paths(), o.notPaths(), a.path, unknownMatches)
                && ports(o.ports(), o.notPorts(), a.port)
                && field(o.hosts(), o.notHosts(), Optional.of(a.host), unknownMatches);
    }

    /** {@code positive}: the list is {@code principals} (any must match); else {@code notPrincipals} (none). */
    private static boolean principals(List<StringMatch> patterns, Attributes a, boolean positive) {
        if (patterns.isEmpty()) {
            return true;
        }
        boolean any = false;
        for (StringMatch m : patterns) {
            String subject = m.kind() != StringMatch.Kind.SUFFIX && m.value().startsWith(SPIFFE_SCHEME)
                    ? a.principal : a.barePrincipal;
            if (m.matches(subject)) {
                any = true;
                break;
            }
        }
        return positive == any;
    }

    private static boolean field(List<StringMatch> values, List<StringMatch> notValues, Optional<String> attr,
            boolean unknownMatches) {
        if (!values.isEmpty()) {
            if (attr.isEmpty()) {
                if (!unknownMatches) {
                    return false;
                }
            } else if (values.stream().noneMatch(m -> matches(m, attr.get(), unknownMatches))) {
                return false;
            }
        }
        if (!notValues.isEmpty()) {
            if (attr.isEmpty()) {
                return unknownMatches;
            }
            return notValues.stream().noneMatch(m -> matches(m, attr.get(), !unknownMatches));
        }
        return true;
    }

    /**
     * {@code m} against {@code value}, or {@code ifUndecidable} when the answer cannot be trusted (a path template
     * against a path a backend could split differently): as for a missing attribute, an ALLOW rule then does not
     * match and a DENY rule does.
     */
    private static boolean matches(StringMatch m, String value, boolean ifUndecidable) {
        return m.decidable(value) ? m.matches(value) : ifUndecidable;
    }

    private static boolean ports(Set<Integer> ports, Set<Integer> notPorts, int port) {
        return (ports.isEmpty() || ports.contains(port)) && !notPorts.contains(port);
    }

    /** The request as the matcher sees it, computed once per decision. */
    private record Attributes(String principal, String barePrincipal, String trustDomain, Optional<String> namespace,
            Optional<String> method, Optional<String> path, int port, String host) {

        static Attributes of(AccessRequest r) {
            String principal = r.source().toString();
            return new Attributes(principal, principal.substring(SPIFFE_SCHEME.length()),
                    r.source().trustDomain().name(), Source.namespaceOf(r.source().path()), r.method(),
                    r.path().map(Attributes::stripQuery), r.port(), r.destination().host());
        }

        static String stripQuery(String path) {
            int q = path.indexOf('?');
            int h = path.indexOf('#');
            int cut = q < 0 ? h : (h < 0 ? q : Math.min(q, h));
            return cut < 0 ? path : path.substring(0, cut);
        }

        String describe() {
            StringBuilder b = new StringBuilder(principal).append(" -> ").append(host).append(':').append(port);
            method.ifPresent(m -> b.append(' ').append(m));
            path.ifPresent(p -> b.append(' ').append(p));
            return b.toString();
        }
    }
}
