package io.isthmus.gateway.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.audit.ClusterNames;
import io.isthmus.proxy.authz.audit.FileAuditSink;
import io.isthmus.proxy.authz.audit.JsonDecisionLog;
import io.isthmus.proxy.authz.policy.PolicySet;
import io.isthmus.proxy.authz.policy.source.PolicyYaml;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * {@code isthmus authz suggest} and {@code simulate} over decision logs written by the gateway's own log writer
 * (observe mode decided by the real policy engine, a rotating file), with a forged and a truncated line added:
 * the bad lines are named and skipped, the rest is read; the suggestion, applied, denies nothing observed; a
 * tighter candidate fails simulate with exit 3.
 */
class AuthzSuggestSimulateTest {
    static final String CHECKOUT = "spiffe://alpha.acme.internal/ns/shop/sa/checkout";
    static final String CART = "spiffe://beta.acme.internal/ns/shop/sa/cart";
    static final String REPORTING = "spiffe://alpha.acme.internal/ns/analytics/sa/reporting";
    static final MeshName ORDERS = MeshName.of("orders", "shop");
    static final MeshName LEDGER = MeshName.of("ledger", "billing");

    @TempDir
    Path dir;
    Path log;

    private record Run(int exit, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = IsthmusCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(exit, out.toString(), err.toString());
    }

    /** gamma's gateway, both namespaces in observe mode, logs mixed traffic; the file rotates on the way. */
    @BeforeEach
    void observeTraffic() throws IOException {
        PolicySet observe = PolicySet.of("isthmus-system", PolicyYaml.parse("""
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: observe, namespace: isthmus-system}
                spec: {mode: OBSERVE}
                """, "observe.yaml"));
        log = dir.resolve("gamma/audit.jsonl");
        ClusterNames clusters = td -> Optional.of(td.name().substring(0, td.name().indexOf('.')));
        try (JsonDecisionLog writer = new JsonDecisionLog(Clock.systemUTC(), new FileAuditSink(log,
                new FileAuditSink.Rotation(4096, Duration.ofDays(1), 10), Clock.systemUTC()),
                new SimpleMeterRegistry(), 4096, Optional.of("gamma"), clusters)) {
            for (int i = 0; i < 30; i++) {
                record(writer, observe, AccessRequest.http(id(CHECKOUT), ORDERS, 80, "GET", "/orders/" + (100 + i)));
            }
            record(writer, observe, AccessRequest.http(id(CHECKOUT), ORDERS, 80, "POST", "/orders"));
            record(writer, observe, AccessRequest.http(id(CART), ORDERS, 80, "GET", "/orders/7/items"));
            record(writer, observe, AccessRequest.tcp(id(REPORTING), LEDGER, 5432));
        }
        // A line forged with another version, and one cut off as by a crash.
        Files.writeString(log, "{\"version\":9,\"time\":\"2026-01-01T00:00:00Z\",\"decision\":\"allow\"}\n"
                + "{\"version\":1,\"time\"\n", StandardOpenOption.APPEND);
    }

    private static void record(JsonDecisionLog writer, PolicySet policies, AccessRequest r) {
        writer.record(r, policies.decide(r));
    }

    private static SpiffeId id(String s) {
        return SpiffeId.parse(s);
    }

    @Test
    void suggestsFromEveryRotatedFileAndNamesTheLinesItSkips() throws IOException {
        try (Stream<Path> files = Files.list(log.getParent())) {
            assertThat(files.count()).as("the log rotated at least once").isGreaterThan(1);
        }
        Run r = run("authz", "suggest", "--log", log.toString(), "--since", "24h");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("isthmus: skipped " + log + ":")
                .contains(": unsupported-version: \"version\":9 is newer than the version this isthmus reads (1)")
                .contains(": truncated: the line ends inside its JSON object")
                .contains("isthmus: 2 log line(s) refused: truncated 1, unsupported-version 1");
        assertThat(r.out()).contains("# From 33 requests").contains("name: \"suggested-orders\"")
                .contains("- \"/orders/{*}\"  # 30").contains("- \"/orders/{*}/items\"  # 1")
                .contains("#   orders.shop /orders/{*} <- /orders/100 .. /orders/129: a number; 30")
                .contains("name: \"suggested-ledger\"").contains("ports: [5432]");
        assertThat(PolicyYaml.parse(r.out(), "stdout")).hasSize(2);

        Run crd = run("authz", "suggest", "--log", log.toString(), "--format", "crd", "--namespace", "billing");
        assertThat(crd.out()).contains("app.kubernetes.io/managed-by").contains("suggested-ledger")
                .doesNotContain("suggested-orders");
    }

    @Test
    void theSuggestionSimulatesCleanAndATighterOneFails() throws IOException {
        Path out = dir.resolve("suggested");
        Run s = run("authz", "suggest", "--log", log.toString(), "--since", "24h", "--out", out.toString());
        assertThat(s.exit()).as(s.err()).isZero();
        assertThat(s.out()).contains("wrote " + out.resolve("policies.yaml") + " and 2 manifest(s)");
        assertThat(out.resolve("crds/shop.orders.yaml")).exists();
        assertThat(out.resolve("crds/billing.ledger.yaml")).exists();

        Run ok = run("authz", "simulate", "--policy", out.resolve("policies.yaml").toString(), "--log",
                log.toString(), "--since", "24h");
        assertThat(ok.exit()).as(ok.out() + ok.err()).isZero();
        assertThat(ok.out()).contains("replayed 33 of 33 logged requests against 2 candidate policies: 33 still "
                + "allowed, 0 still denied, 0 newly denied, 0 newly allowed").contains("OK: the candidate denies "
                        + "nothing that was observed going through");

        Path tighter = dir.resolve("tighter.yaml");
        Files.writeString(tighter, Files.readString(out.resolve("policies.yaml")).replace(
                "\"spiffe://beta.acme.internal/ns/shop/sa/cart\"", "\"spiffe://beta.acme.internal/ns/shop/sa/kart\""));
        Run fail = run("authz", "simulate", "--policy", tighter.toString(), "--log", log.toString());
        assertThat(fail.exit()).as(fail.out() + fail.err()).isEqualTo(AuthzSimulateCommand.BREAKS);
        assertThat(fail.out()).contains("NEWLY DENIED (these requests went through and would break):\n  " + CART
                + " -> orders.shop.svc.clusterset.local: 1 requests, now deny no-matching-allow (was allow "
                + "isthmus-system/observe spec.mode), e.g. GET /orders/{*}/items")
                .contains("FAIL: the candidate would deny 1 observed requests");
    }

    @Test
    void refusesAnInvalidCandidateAndAMissingLog() throws IOException {
        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, "apiVersion: security.isthmus.io/v1alpha1\nkind: AuthorizationPolicy\n"
                + "metadata: {name: x, namespace: shop}\nspec: {rules: [{to: [{operation: {paths: [\"/a/{**}/b\"]}}]}]}\n");
        Run invalid = run("authz", "simulate", "--policy", bad.toString(), "--log", log.toString());
        assertThat(invalid.exit()).isEqualTo(1);
        assertThat(invalid.err()).contains("'{**}' must be the last segment").contains("nothing simulated");

        Run missing = run("authz", "suggest", "--log", dir.resolve("nowhere.jsonl").toString());
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("nowhere.jsonl (no decision log there; see isthmus.authz.audit-log.path)");

        Run usage = run("authz", "suggest", "--log", log.toString(), "--format", "json");
        assertThat(usage.exit()).isEqualTo(2);
        assertThat(usage.err()).contains("'json' is not a format: use policy-file or crd");
    }

    @Test
    void checkExplainsObserveModeAndDryRun() throws IOException {
        Path file = dir.resolve("p.yaml");
        Files.writeString(file, """
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: observe, namespace: shop}
                spec: {mode: OBSERVE}
                ---
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: no-delete, namespace: shop, annotations: {security.isthmus.io/dry-run: "true"}}
                spec: {action: DENY, rules: [{to: [{operation: {methods: [DELETE]}}]}]}
                """);
        Run r = run("authz", "check", "--file", file.toString(), "--caller", CART, "--to", "orders.shop",
                "--method", "DELETE", "--path", "/orders/1");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("OBSERVE mode (shop/observe): allowed; the policies would deny:",
                "DENY no-matching-allow: no ALLOW policy applies to orders.shop",
                "DRY-RUN policies would deny explicit-deny by shop/no-delete rules[0]");
    }
}
