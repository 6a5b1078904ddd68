package io.isthmus.bench.authz;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.audit.JsonDecisionLog;
import io.isthmus.proxy.authz.policy.AuthorizationPolicy;
import io.isthmus.proxy.authz.policy.PolicySet;
import io.isthmus.proxy.authz.policy.source.PolicyYaml;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * Cost of one authorization decision on the event loop, and of serializing its audit line (done off the event
 * loop). {@code policiesPerNamespace} ALLOW policies in each of 50 namespaces, plus a root-namespace DENY and
 * AUDIT that every request is checked against. {@code allowLast}: the request matches only the last ALLOW policy
 * of its namespace (worst case before a match); {@code denyNoMatch}: no policy matches (default deny, every rule
 * tried). Run: java -jar benchmarks/target/benchmarks.jar PolicyBenchmark
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@Threads(1)
public class PolicyBenchmark {
    @Param({"1", "20"})
    int policiesPerNamespace;

    private PolicySet set;
    private AccessRequest allowLast;
    private AccessRequest denyNoMatch;
    private Decision decision;

    @Setup
    public void setUp() throws IOException {
        StringBuilder yaml = new StringBuilder();
        yaml.append(doc("isthmus-system", "deny-foreign", "DENY",
                "  - from: [{source: {notTrustDomains: [\"a.acme.internal\", \"b.acme.internal\"]}}]\n"));
        yaml.append(doc("isthmus-system", "audit-writes", "AUDIT",
                "  - to: [{operation: {methods: [\"DELETE\", \"PUT\"]}}]\n"));
        for (int ns = 0; ns < 50; ns++) {
            for (int p = 0; p < policiesPerNamespace; p++) {
                yaml.append(doc("ns" + ns, "allow-" + p, "ALLOW", """
                          - from:
                            - source: {principals: ["spiffe://a.acme.internal/ns/shop/sa/caller-%d", "*/sa/batch-%d"]}
                            to:
                            - operation: {methods: ["GET", "POST"], paths: ["/v1/%d/*", "*.json"], ports: [8080]}
                        """.formatted(p, p, p)));
            }
        }
        List<AuthorizationPolicy> policies = new ArrayList<>(PolicyYaml.parse(yaml.toString(), "bench.yaml"));
        set = PolicySet.of("isthmus-system", policies);
        int last = policiesPerNamespace - 1;
        allowLast = AccessRequest.http(SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/caller-" + last),
                MeshName.of("payments", "ns25"), 8080, "POST", "/v1/" + last + "/pay?id=1");
        denyNoMatch = AccessRequest.http(SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/nobody"),
                MeshName.of("payments", "ns25"), 8080, "POST", "/v1/0/pay");
        decision = set.decide(allowLast);
        if (!decision.allowed() || set.decide(denyNoMatch).allowed()) {
            throw new IllegalStateException("benchmark policies do not decide as intended");
        }
    }

    private static String doc(String ns, String name, String action, String rules) {
        return "apiVersion: security.isthmus.io/v1alpha1\nkind: AuthorizationPolicy\nmetadata: {name: " + name
                + ", namespace: " + ns + "}\nspec:\n  action: " + action + "\n  rules:\n" + rules + "---\n";
    }

    @Benchmark
    public Decision allowLast() {
        return set.decide(allowLast);
    }

    @Benchmark
    public Decision denyNoMatch() {
        return set.decide(denyNoMatch);
    }

    @Benchmark
    public String auditLine() {
        return JsonDecisionLog.toJson(Instant.EPOCH, allowLast, decision);
    }
}
