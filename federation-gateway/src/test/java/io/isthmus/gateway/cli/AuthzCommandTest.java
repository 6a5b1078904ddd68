package io.isthmus.gateway.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code isthmus authz check}: an operator validates a policy file and asks what it decides before shipping it. */
class AuthzCommandTest {
    @TempDir
    Path dir;

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    static final String POLICIES = """
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: allow-checkout, namespace: billing}
            spec:
              rules:
              - from: [{source: {principals: ["spiffe://a.acme.internal/ns/shop/sa/checkout"]}}]
                to: [{operation: {methods: [POST], paths: ["/v1/pay/*"]}}]
            ---
            apiVersion: security.isthmus.io/v1alpha1
            kind: AuthorizationPolicy
            metadata: {name: audit-all, namespace: isthmus-system}
            spec:
              action: AUDIT
              rules: [{}]
            """;

    @Test
    void explainsDecisions() throws Exception {
        Path file = dir.resolve("p.yaml");
        Files.writeString(file, POLICIES);
        CliRun ok = run("authz", "check", "--file", file.toString(), "--caller",
                "spiffe://a.acme.internal/ns/shop/sa/checkout", "--to", "payments.billing", "--port", "8080",
                "--method", "POST", "--path", "/v1/pay/1");
        assertThat(ok.exit()).as(ok.err()).isZero();
        assertThat(ok.out()).contains("2 valid AuthorizationPolicies", "ALLOW by billing/allow-checkout rules[0]",
                "AUDIT matched: isthmus-system/audit-all");

        CliRun tcp = run("authz", "check", "--file", file.toString(), "--caller",
                "spiffe://a.acme.internal/ns/shop/sa/checkout", "--to", "payments.billing.svc.clusterset.local");
        assertThat(tcp.exit()).isEqualTo(3);
        assertThat(tcp.out()).contains("DENY no-matching-allow: none of the 1 ALLOW policies for payments.billing");
    }

    @Test
    void reportsEveryErrorWithItsFieldPath() throws Exception {
        Path file = dir.resolve("bad.yaml");
        Files.writeString(file, POLICIES.replace("methods: [POST]", "methods: [FETCH]"));
        CliRun bad = run("authz", "check", "--file", file.toString());
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.err()).contains(file + "#1 (billing/allow-checkout) spec.rules[0].to[0].operation.methods[0]: "
                + "\"FETCH\" is not an HTTP method");
    }
}
