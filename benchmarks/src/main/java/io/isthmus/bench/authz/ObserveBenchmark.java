package io.isthmus.bench.authz;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.audit.ClusterNames;
import io.isthmus.proxy.authz.audit.DecisionLogReader;
import io.isthmus.proxy.authz.audit.DecisionRecord;
import io.isthmus.proxy.authz.audit.JsonDecisionLog;
import io.isthmus.proxy.authz.policy.PolicySet;
import io.isthmus.proxy.authz.policy.source.PolicyYaml;
import io.isthmus.proxy.authz.suggest.PolicySuggester;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * What observe mode and dry runs cost per request on the event loop, against the same decision enforced, and how
 * fast the CLI reads logs and builds suggestions (in ns per line or record; a 24 h log of 10 million lines takes
 * that many times 10^7). {@code decideEnforced}: one matching ALLOW of three; {@code decideObservedWithDryRun}: the
 * same namespace in observe mode with a dry-run DENY beside it. Run:
 * java -jar benchmarks/target/benchmarks.jar ObserveBenchmark
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@Threads(1)
public class ObserveBenchmark {
    private static final String ALLOW = """
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: allow-%d, namespace: shop}
            spec:
              rules:
              - from: [{source: {principals: ["spiffe://a.acme.internal/ns/shop/sa/caller-%d"]}}]
                to: [{operation: {methods: [GET, POST], paths: ["/orders/{*}", "/orders/{*}/items"], ports: [80]}}]
            ---
            """;
    private static final String OBSERVE_AND_DRY_RUN = """
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: observe, namespace: shop}
            spec: {mode: OBSERVE}
            ---
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: no-delete, namespace: shop, annotations: {security.isthmus.io/dry-run: "true"}}
            spec: {action: DENY, rules: [{to: [{operation: {methods: [DELETE]}}]}]}
            """;
    private static final int RECORDS = 4096;

    private PolicySet enforced;
    private PolicySet observed;
    private AccessRequest request;
    private String[] lines;
    private DecisionRecord[] records;
    private int next;
    private PolicySuggester suggester;

    @Setup
    public void setUp() {
        String allows = ALLOW.formatted(0, 0) + ALLOW.formatted(1, 1) + ALLOW.formatted(2, 2);
        enforced = PolicySet.of("isthmus-system", PolicyYaml.parse(allows, "enforced.yaml"));
        observed = PolicySet.of("isthmus-system", PolicyYaml.parse(allows + OBSERVE_AND_DRY_RUN, "observed.yaml"));
        request = AccessRequest.http(SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/caller-2"),
                MeshName.of("orders", "shop"), 80, "GET", "/orders/42/items");
        if (!enforced.decide(request).allowed() || !observed.decide(request).observing()) {
            throw new IllegalStateException("benchmark policies do not decide as intended");
        }
        lines = new String[RECORDS];
        records = new DecisionRecord[RECORDS];
        ClusterNames clusters = td -> Optional.of("alpha");
        for (int i = 0; i < RECORDS; i++) {
            AccessRequest r = AccessRequest.http(SpiffeId.parse("spiffe://a.acme.internal/ns/shop/sa/caller-" + i % 7),
                    MeshName.of("orders", "shop"), 80, i % 3 == 0 ? "POST" : "GET",
                    "/orders/" + new UUID(i, i * 31L) + "/items/" + i);
            lines[i] = JsonDecisionLog.toJson(Instant.EPOCH.plusSeconds(i), r, observed.decide(r),
                    Optional.of("gamma"), clusters);
            records[i] = ((DecisionLogReader.LineResult.Read) DecisionLogReader.parse(lines[i])).record();
        }
        suggester = new PolicySuggester(PolicySuggester.Options.defaults());
    }

    @Benchmark
    public Decision decideEnforced() {
        return enforced.decide(request);
    }

    @Benchmark
    public Decision decideObservedWithDryRun() {
        return observed.decide(request);
    }

    @Benchmark
    public DecisionLogReader.LineResult readLogLine() {
        next = (next + 1) & (RECORDS - 1);
        return DecisionLogReader.parse(lines[next]);
    }

    @Benchmark
    public long suggestFromRecord() {
        next = (next + 1) & (RECORDS - 1);
        suggester.accept(records[next]);
        return suggester.budget().used();
    }
}
