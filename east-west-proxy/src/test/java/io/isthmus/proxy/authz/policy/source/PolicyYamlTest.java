package io.isthmus.proxy.authz.policy.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.proxy.authz.policy.AuthorizationPolicy;
import io.isthmus.proxy.authz.policy.InvalidPolicyException;
import io.isthmus.proxy.authz.policy.PolicyViolation;

/** Reading the policy file: a YAML text that could be read two ways is refused, not read one of them. */
class PolicyYamlTest {

    static Stream<Arguments> ambiguous() {
        return Stream.of(
                Arguments.of("duplicate 'paths': a DENY on /admin* would become a DENY on /healthz", """
                        apiVersion: security.isthmus.io/v1alpha1
                        kind: AuthorizationPolicy
                        metadata: {name: no-admin, namespace: billing}
                        spec:
                          action: DENY
                          rules:
                          - to:
                            - operation:
                                paths: ["/admin*"]
                                paths: ["/healthz"]
                        """, "p.yaml#1: duplicate key \"paths\" at line 10: a key may appear once in a mapping (the "
                        + "later value would silently replace the earlier one); keep one"),
                Arguments.of("duplicate 'action': DENY then ALLOW", """
                        apiVersion: security.isthmus.io/v1alpha1
                        kind: AuthorizationPolicy
                        metadata: {name: block-evil, namespace: billing}
                        spec:
                          action: DENY
                          rules:
                          - from: [{source: {trustDomains: ["evil.example"]}}]
                          action: ALLOW
                        """, "p.yaml#1: duplicate key \"action\" at line 8: a key may appear once in a mapping (the "
                        + "later value would silently replace the earlier one); keep one"),
                Arguments.of("duplicate key in a flow mapping, in the second document", """
                        apiVersion: security.isthmus.io/v1alpha1
                        kind: AuthorizationPolicy
                        metadata: {name: a, namespace: billing}
                        ---
                        apiVersion: security.isthmus.io/v1alpha1
                        kind: AuthorizationPolicy
                        metadata: {name: b, namespace: billing, name: c}
                        """, "p.yaml#2: duplicate key \"name\" at line 7: a key may appear once in a mapping (the "
                        + "later value would silently replace the earlier one); keep one"),
                Arguments.of("duplicate annotation: dry-run \"true\" then \"false\"", """
                        apiVersion: security.isthmus.io/v1alpha1
                        kind: AuthorizationPolicy
                        metadata:
                          name: p
                          namespace: billing
                          annotations:
                            security.isthmus.io/dry-run: "true"
                            security.isthmus.io/dry-run: "false"
                        spec: {action: DENY, rules: [{}]}
                        """, "p.yaml#1: duplicate key \"security.isthmus.io/dry-run\" at line 8: a key may appear once "
                        + "in a mapping (the later value would silently replace the earlier one); keep one"),
                Arguments.of("YAML merge key '<<'", """
                        apiVersion: security.isthmus.io/v1alpha1
                        kind: AuthorizationPolicy
                        metadata: {name: m, namespace: billing}
                        spec:
                          action: DENY
                          rules:
                          - to:
                            - operation:
                                <<: {paths: ["/admin*"]}
                        """, "p.yaml#1 (billing/m) spec.rules[0].to[0].operation.<<: unknown field (expected one of "
                        + "hosts, methods, notHosts, notMethods, notPaths, notPorts, paths, ports)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ambiguous")
    void ambiguousYamlIsRefused(String name, String yaml, String expected) {
        InvalidPolicyException e = catchThrowableOfType(InvalidPolicyException.class, () -> PolicyYaml.parse(yaml,
                "p.yaml"));
        assertThat(e).as(name).isNotNull();
        assertThat(e.violations()).map(PolicyViolation::toString).contains(expected);
    }

    /** The same key in different mappings is not a duplicate. */
    @Test
    void theSameKeyInSeveralMappingsIsFine() {
        List<AuthorizationPolicy> policies = PolicyYaml.parse("""
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: a, namespace: billing}
                spec:
                  rules:
                  - to:
                    - operation: {paths: ["/a"]}
                    - operation: {paths: ["/b"]}
                  - to:
                    - operation: {paths: ["/c"]}
                ---
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: b, namespace: billing}
                spec: {rules: [{}]}
                """, "p.yaml");
        assertThat(policies).hasSize(2);
        assertThat(policies.get(0).rules()).hasSize(2);
        assertThat(policies.get(0).rules().get(0).to()).hasSize(2);
    }
}
