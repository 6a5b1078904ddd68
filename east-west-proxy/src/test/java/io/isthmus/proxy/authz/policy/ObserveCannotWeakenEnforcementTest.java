package io.isthmus.proxy.authz.policy;

import static io.isthmus.proxy.authz.policy.PolicySetTest.policy;
import static io.isthmus.proxy.authz.policy.TestPolicies.http;
import static io.isthmus.proxy.authz.policy.TestPolicies.set;
import static io.isthmus.proxy.authz.policy.TestPolicies.tcp;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;

/**
 * The attacker's view of observe mode and dry runs: whoever can add a dry-run policy, or a mode policy for another
 * scope, must not change a single enforced decision in a namespace that is enforcing. Random policy sets (seeded, so
 * a failure reproduces) of enforced ALLOW/DENY policies, then the same set with "noise" added: dry-run ALLOW and
 * DENY policies of every namespace (including the destination's), OBSERVE for other namespaces and for other
 * services of the destination's namespace, ENFORCE for the destination. Every request to the enforcing service must
 * get exactly the decision it got without the noise.
 */
class ObserveCannotWeakenEnforcementTest {
    static final String[] PRINCIPALS = {"spiffe://a.acme.internal/ns/shop/sa/checkout",
            "spiffe://a.acme.internal/ns/shop/sa/cart", "spiffe://b.acme.internal/ns/ops/sa/backup",
            "spiffe://evil.example/ns/shop/sa/checkout"};
    static final String[] PRINCIPAL_PATTERNS = {"spiffe://a.acme.internal/ns/shop/sa/checkout", "*/sa/cart",
            "spiffe://b.acme.internal/*", "*"};
    static final String[] METHODS = {"GET", "POST", "DELETE"};
    static final String[] PATH_PATTERNS = {"/v1/pay/{*}", "/v1/*", "/admin/{**}", "/v1/pay/1"};
    static final String[] PATHS = {"/v1/pay/1", "/v1/pay/2/refund", "/admin/users", "/v1/pay/..", "/admin%2Fusers",
            "/"};
    static final String[] NAMESPACES = {"billing", "shop", "isthmus-system"};

    @Test
    void noDryRunOrOtherScopesModePolicyChangesAnEnforcedDecision() {
        Random random = new Random(15);
        int compared = 0;
        int observedElsewhere = 0;
        for (int round = 0; round < 300; round++) {
            StringBuilder enforced = new StringBuilder();
            for (int i = 0; i < 1 + random.nextInt(4); i++) {
                String ns = NAMESPACES[random.nextInt(NAMESPACES.length)];
                enforced.append(policy(ns, "p" + i, random.nextInt(3) == 0 ? "action: DENY\n" + rules(random)
                        : rules(random)));
            }
            String noise = noise(random);
            PolicySet without = set(enforced.toString());
            PolicySet with = set(enforced + noise);
            for (AccessRequest r : requests("payments.billing")) {
                Decision expected = without.decide(r);
                Decision actual = with.decide(r);
                assertThat(describe(actual)).as("round %d, %s\n%s", round, r, enforced + noise)
                        .isEqualTo(describe(expected));
                assertThat(actual.observing()).isFalse();
                compared++;
            }
            for (AccessRequest r : requests("ledger.billing")) {
                observedElsewhere += with.decide(r).observing() ? 1 : 0;
            }
        }
        assertThat(compared).isEqualTo(300 * requests("payments.billing").size());
        assertThat(observedElsewhere).as("the noise did observe its own scopes").isPositive();
    }

    static String rules(Random random) {
        StringBuilder b = new StringBuilder("rules:\n");
        for (int i = 0; i < 1 + random.nextInt(2); i++) {
            b.append("- from:\n  - source: {principals: [\"")
                    .append(PRINCIPAL_PATTERNS[random.nextInt(PRINCIPAL_PATTERNS.length)]).append("\"]}\n")
                    .append("  to:\n  - operation: {methods: [").append(METHODS[random.nextInt(METHODS.length)])
                    .append("], paths: [\"").append(PATH_PATTERNS[random.nextInt(PATH_PATTERNS.length)])
                    .append("\"]}\n");
        }
        return b.toString();
    }

    static String noise(Random random) {
        StringBuilder b = new StringBuilder();
        for (String ns : NAMESPACES) {
            b.append(dryRun(ns, "dry-allow", rules(random))).append(dryRun(ns, "dry-deny", "action: DENY\n"
                    + rules(random)));
        }
        b.append(policy("shop", "observe", "mode: OBSERVE\n"));
        b.append(policy("billing", "observe-ledger", "mode: OBSERVE\nselector: {services: [ledger]}\n"));
        if (random.nextBoolean()) {
            // the mesh observes, the destination's namespace or service says ENFORCE (more specific)
            b.append(policy("isthmus-system", "observe-mesh", "mode: OBSERVE\n"));
            b.append(random.nextBoolean() ? policy("billing", "enforce", "mode: ENFORCE\n")
                    : policy("billing", "enforce-payments", "mode: ENFORCE\nselector: {services: [payments]}\n"));
            if (random.nextBoolean()) {
                // OBSERVE beside it: at the same scope ENFORCE wins, a less specific scope loses
                b.append(policy("billing", "observe-too", "mode: OBSERVE\n"));
            }
        }
        return b.toString();
    }

    static String dryRun(String ns, String name, String spec) {
        return ObserveAndDryRunTest.dryRun(ns, name, spec);
    }

    static List<AccessRequest> requests(String destination) {
        List<AccessRequest> out = new ArrayList<>();
        for (String p : PRINCIPALS) {
            for (String m : METHODS) {
                for (String path : PATHS) {
                    out.add(http(p, destination, 80, m, path));
                }
            }
            out.add(tcp(p, destination, 5432));
        }
        return out;
    }

    /** The enforced outcome: allow or deny, reason, deciding policy and rule. */
    static String describe(Decision d) {
        return ObserveAndDryRunTest.describe(d);
    }
}
