package io.isthmus.proxy.authz.policy;

import static io.isthmus.proxy.authz.policy.TestPolicies.node;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Validation: each rejected document names the field path and what is wrong there. */
class PolicyParserTest {

    static String doc(String spec) {
        return """
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: p, namespace: billing}
                spec:
                %s""".formatted(spec.indent(2));
    }

    static Stream<Arguments> rejections() {
        return Stream.of(
                Arguments.of(doc("rules:\n- to:\n  - operation: {methods: [GET, FETCH]}\n"),
                        "spec.rules[0].to[0].operation.methods[1]: \"FETCH\" is not an HTTP method (expected one of "
                                + "GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH, or *)"),
                Arguments.of(doc("rules:\n- to:\n  - operation: {methods: [get]}\n"),
                        "spec.rules[0].to[0].operation.methods[0]: \"get\" is not an HTTP method (methods are upper "
                                + "case: \"GET\")"),
                Arguments.of(doc("rules:\n- from:\n  - source: {principals: [\"spiffe://a/*/x\"]}\n"),
                        "spec.rules[0].from[0].source.principals[0]: \"spiffe://a/*/x\": '*' is allowed only as the "
                                + "whole value, at the start (suffix match, \"*/sa/checkout\") or at the end (prefix "
                                + "match, \"spiffe://td/ns/shop/*\")"),
                Arguments.of(doc("rules:\n- from:\n  - source: {principals: [\"*a*\"]}\n"),
                        "spec.rules[0].from[0].source.principals[0]: \"*a*\": '*' is allowed only"),
                Arguments.of(doc("rules:\n- from:\n  - source: {principals: [\"https://a/ns/x/sa/y\"]}\n"),
                        "spec.rules[0].from[0].source.principals[0]: \"https://a/ns/x/sa/y\" is not a SPIFFE ID "
                                + "pattern"),
                Arguments.of(doc("rules:\n- from:\n  - source: {principals: [\"spiffe://A_B/ns/x\"]}\n"),
                        "spec.rules[0].from[0].source.principals[0]: \"spiffe://A_B/ns/x\" is not a valid principal"),
                Arguments.of(doc("rules:\n- from:\n  - source: {principals: [\"spiffe://BAD/ns/*\"]}\n"),
                        "spec.rules[0].from[0].source.principals[0]: \"spiffe://BAD/ns/*\" is not a valid principal"),
                Arguments.of(doc("rules:\n- from:\n  - source: {principals: [\"\"]}\n"),
                        "spec.rules[0].from[0].source.principals[0]: \"\": must not be empty"),
                Arguments.of(doc("rules:\n- from:\n  - source: {trustDomains: [\"Not A Domain\"]}\n"),
                        "spec.rules[0].from[0].source.trustDomains[0]: \"Not A Domain\" is not a trust domain"),
                Arguments.of(doc("rules:\n- from:\n  - source: {namespaces: [\"Shop\"]}\n"),
                        "spec.rules[0].from[0].source.namespaces[0]: \"Shop\" is not a namespace name"),
                Arguments.of(doc("action: PERMIT\n"),
                        "spec.action: \"PERMIT\" is not an action (expected ALLOW, DENY or AUDIT)"),
                Arguments.of(doc("action: CUSTOM\n"), "spec.action: \"CUSTOM\" is not supported by Isthmus"),
                Arguments.of(doc("action: [ALLOW]\n"), "spec.action: expected ALLOW, DENY or AUDIT, got a list"),
                Arguments.of(doc("rules:\n- from:\n  - source: {notPrincipal: [x/y]}\n"),
                        "spec.rules[0].from[0].source.notPrincipal: unknown field (expected one of namespaces, "
                                + "notNamespaces, notPrincipals, notTrustDomains, principals, trustDomains)"),
                Arguments.of(doc("rules:\n- from:\n  - source: {ipBlocks: [10.0.0.0/8]}\n"),
                        "spec.rules[0].from[0].source.ipBlocks: Isthmus authorizes by identity, never by address"),
                Arguments.of(doc("rules:\n- when:\n  - {key: \"request.headers[x]\", values: [y]}\n"),
                        "spec.rules[0].when: conditions ('when') are not supported by Isthmus"),
                Arguments.of(doc("actions: ALLOW\n"),
                        "spec.actions: unknown field (expected one of action, mode, rules, selector)"),
                Arguments.of(doc("mode: WATCH\n"),
                        "spec.mode: \"WATCH\" is not a mode (expected ENFORCE or OBSERVE)"),
                Arguments.of(doc("mode: [OBSERVE]\n"), "spec.mode: expected ENFORCE or OBSERVE, got a list"),
                Arguments.of(doc("mode: OBSERVE\nrules:\n- {}\n"),
                        "spec.rules: a mode policy (spec.mode) sets how the policies of its services are applied "
                                + "and has no rules of its own; put the rules in a policy of their own"),
                Arguments.of(doc("mode: OBSERVE\naction: DENY\n"), "spec.action: a mode policy (spec.mode)"),
                Arguments.of("""
                        apiVersion: security.isthmus.io/v1alpha1
                        kind: AuthorizationPolicy
                        metadata: {name: p, namespace: billing, annotations: {security.isthmus.io/dry-run: "yes"}}
                        spec: {action: DENY, rules: [{}]}
                        """, "metadata.annotations[\"security.isthmus.io/dry-run\"]: \"yes\" is not \"true\" or "
                        + "\"false\" (annotation values are strings: quote them)"),
                Arguments.of("""
                        apiVersion: security.isthmus.io/v1alpha1
                        kind: AuthorizationPolicy
                        metadata: {name: p, namespace: billing, annotations: {security.isthmus.io/dry-run: true}}
                        spec: {action: DENY, rules: [{}]}
                        """, "metadata.annotations[\"security.isthmus.io/dry-run\"]: a boolean (true) is not "),
                Arguments.of("""
                        apiVersion: security.isthmus.io/v1alpha1
                        kind: AuthorizationPolicy
                        metadata: {name: p, namespace: billing, annotations: {security.isthmus.io/dry-run: "true"}}
                        spec: {mode: OBSERVE}
                        """, "metadata.annotations[\"security.isthmus.io/dry-run\"]: a mode policy (spec.mode) "
                        + "cannot be dry-run"),
                Arguments.of("""
                        apiVersion: security.isthmus.io/v1alpha1
                        kind: AuthorizationPolicy
                        metadata: {name: p, namespace: billing, annotations: {security.isthmus.io/dry-run: "true"}}
                        spec: {action: AUDIT, rules: [{}]}
                        """, "metadata.annotations[\"security.isthmus.io/dry-run\"]: an AUDIT policy never decides"),
                Arguments.of(doc("rules:\n- to:\n  - operation: {paths: [\"/a/{**}/b\"]}\n"),
                        "spec.rules[0].to[0].operation.paths[0]: \"/a/{**}/b\": '{**}' must be the last segment"),
                Arguments.of(doc("rules:\n- to:\n  - operation: {paths: [\"/a/x{*}\"]}\n"),
                        "spec.rules[0].to[0].operation.paths[0]: \"/a/x{*}\": segment \"x{*}\": '{*}' and '{**}' "
                                + "must be whole segments"),
                Arguments.of(doc("rules:\n- to:\n  - operation: {paths: [\"/a/{*}/*\"]}\n"),
                        "spec.rules[0].to[0].operation.paths[0]: \"/a/{*}/*\": segment \"*\""),
                Arguments.of(doc("rules:\n- to:\n  - operation: {paths: [\"{*}/a\"]}\n"),
                        "spec.rules[0].to[0].operation.paths[0]: \"{*}/a\": a path template must start with '/'"),
                Arguments.of(doc("rules:\n- to:\n  - operation: {paths: [\"/a/{}\"]}\n"),
                        "spec.rules[0].to[0].operation.paths[0]: \"/a/{}\": segment \"{}\""),
                Arguments.of(doc("rules:\n- to:\n  - operation: {notPaths: [\"/a/{*}?x\"]}\n"),
                        "spec.rules[0].to[0].operation.notPaths[0]: \"/a/{*}?x\": paths are matched without the query"),
                Arguments.of(doc("rules:\n- from:\n  - source: {}\n"),
                        "spec.rules[0].from[0].source: must set at least one of"),
                Arguments.of(doc("rules:\n- to:\n  - {}\n"), "spec.rules[0].to[0].operation: is required"),
                Arguments.of(doc("rules:\n- to:\n  - operation: {ports: [0]}\n"),
                        "spec.rules[0].to[0].operation.ports[0]: 0 is not a port number (1-65535)"),
                Arguments.of(doc("rules:\n- to:\n  - operation: {ports: [\"http\"]}\n"),
                        "spec.rules[0].to[0].operation.ports[0]: \"http\" is not a port number"),
                Arguments.of(doc("rules:\n- to:\n  - operation: {paths: [\"admin\"]}\n"),
                        "spec.rules[0].to[0].operation.paths[0]: \"admin\" must start with '/'"),
                Arguments.of(doc("rules:\n- to:\n  - operation: {paths: [\"/a?b=c\"]}\n"),
                        "spec.rules[0].to[0].operation.paths[0]: \"/a?b=c\": paths are matched without the query"),
                Arguments.of(doc("rules:\n- to:\n  - operation: {paths: [\"/a/*/b\"]}\n"),
                        "spec.rules[0].to[0].operation.paths[0]: \"/a/*/b\": '*' is allowed only"),
                Arguments.of(doc("rules:\n- to:\n  - operation: {methods: GET}\n"),
                        "spec.rules[0].to[0].operation.methods: expected a list, got a string"),
                Arguments.of(doc("rules: {from: []}\n"), "spec.rules: expected a list, got an object"),
                Arguments.of(doc("selector: {matchLabels: {app: x}}\n"),
                        "spec.selector.matchLabels: unknown field (expected one of services)"),
                Arguments.of(doc("selector: {services: [\"Payments\"]}\n"),
                        "spec.selector.services[0]: \"Payments\" is not a service name"),
                Arguments.of("""
                        apiVersion: security.istio.io/v1
                        kind: AuthorizationPolicy
                        metadata: {name: p, namespace: billing}
                        """, "apiVersion: \"security.istio.io/v1\" is not supported (expected "
                        + "\"security.isthmus.io/v1alpha1\")"),
                Arguments.of("""
                        apiVersion: security.isthmus.io/v1alpha1
                        kind: PeerAuthentication
                        metadata: {name: p, namespace: billing}
                        """, "kind: \"PeerAuthentication\" is not \"AuthorizationPolicy\""),
                Arguments.of("""
                        apiVersion: security.isthmus.io/v1alpha1
                        kind: AuthorizationPolicy
                        metadata: {name: p}
                        """, "metadata.namespace: is required"),
                Arguments.of("""
                        apiVersion: security.isthmus.io/v1alpha1
                        kind: AuthorizationPolicy
                        metadata: {name: p, namespace: billing}
                        specs: {}
                        """, "specs: unknown field (expected one of apiVersion, kind, metadata, spec, status)"),
                Arguments.of("- a\n- b\n", "(document): expected an object, got a list"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("rejections")
    void rejectsNamingTheField(String yaml, String expected) {
        InvalidPolicyException e = catchThrowableOfType(InvalidPolicyException.class,
                () -> PolicyParser.parse(node(yaml), "t.yaml#1"));
        assertThat(e).as("should be rejected: %s", yaml).isNotNull();
        assertThat(e.violations()).map(PolicyViolation::toString).anySatisfy(v -> assertThat(v).startsWith(expected));
        assertThat(e.getMessage()).startsWith("invalid AuthorizationPolicy t.yaml#1").contains(expected);
    }

    static final String EMPTY = "is an empty list, which would match everything: leave the field out to match any, "
            + "or list at least one value";
    static final String NULL = "has no value (null), which would match everything: leave the field out to match "
            + "any, or list at least one value";
    static final String PAYMENTS = "payments.billing.svc.clusterset.local";

    static String annotated(String annotations, String spec) {
        return """
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: p, namespace: billing, annotations: {%s}}
                spec: %s
                """.formatted(annotations, spec);
    }

    /** Refused documents and the exact, complete list of their violations. */
    static Stream<Arguments> refusedExactly() {
        Stream<Arguments> emptyLists = Stream.of(
                Arguments.of(doc("rules:\n- from: []\n  to: [{operation: {methods: [GET]}}]\n"),
                        List.of("spec.rules[0].from: " + EMPTY)),
                Arguments.of(doc("rules:\n- from: [{source: {namespaces: [shop]}}]\n  to: []\n"),
                        List.of("spec.rules[0].to: " + EMPTY)),
                Arguments.of(doc("rules:\n- {}\n- from: []\n  to: []\n"),
                        List.of("spec.rules[1].from: " + EMPTY, "spec.rules[1].to: " + EMPTY)),
                Arguments.of(doc("rules:\n- from:\n  - source: {principals: [\"*/sa/a\"]}\n"
                        + "  - source: {principals: [], namespaces: [shop]}\n"),
                        List.of("spec.rules[0].from[1].source.principals: " + EMPTY)),
                // A key with no value: what a template whose value ran out renders ("from:" then nothing).
                Arguments.of(doc("rules:\n- from:\n  to: [{operation: {methods: [GET]}}]\n"),
                        List.of("spec.rules[0].from: " + NULL)),
                Arguments.of(doc("rules:\n- from:\n  - source: {principals: ~, namespaces: [shop]}\n"),
                        List.of("spec.rules[0].from[0].source.principals: " + NULL)),
                Arguments.of(doc("rules:\n- to:\n  - operation: {methods: [GET], paths: null}\n"),
                        List.of("spec.rules[0].to[0].operation.paths: " + NULL)));
        Stream<Arguments> sourceFields = Stream.of("principals", "notPrincipals", "trustDomains", "notTrustDomains",
                "namespaces", "notNamespaces").map(f -> Arguments.of(
                        doc("rules:\n- from:\n  - source: {" + f + ": []}\n"),
                        List.of("spec.rules[0].from[0].source." + f + ": " + EMPTY)));
        Stream<Arguments> operationFields = Stream.of("methods", "notMethods", "paths", "notPaths", "ports",
                "notPorts", "hosts", "notHosts").map(f -> Arguments.of(
                        doc("rules:\n- to:\n  - operation: {" + f + ": []}\n"),
                        List.of("spec.rules[0].to[0].operation." + f + ": " + EMPTY)));
        Stream<Arguments> hosts = Stream.of(
                host("hosts", PAYMENTS + ":8080", ": hosts are matched without the port, against the mesh name: "
                        + "remove \":8080\" and use ports: [8080] instead"),
                host("notHosts", PAYMENTS + ":*", ": hosts are matched without the port, against the mesh name: "
                        + "remove \":*\" and use ports instead"),
                host("hosts", "*.billing.svc.clusterset.local:443", ": hosts are matched without the port, against the "
                        + "mesh name: remove \":443\" and use ports: [443] instead"),
                host("hosts", "http://" + PAYMENTS, ": hosts are matched against the mesh name, which has no scheme: "
                        + "remove \"http://\""),
                host("hosts", "https://" + PAYMENTS + ":8443/", ": hosts are matched against the mesh name, which has "
                        + "no scheme: remove \"https://\""),
                host("hosts", PAYMENTS + "/", ": hosts are matched against the mesh name, which has no path: remove "
                        + "\"/\" (use paths to match paths)"),
                host("notHosts", "*.local/admin", ": hosts are matched against the mesh name, which has no path: "
                        + "remove \"/admin\" (use paths to match paths)"),
                host("hosts", "admin@" + PAYMENTS, ": hosts are matched against the mesh name, which has no user: "
                        + "remove \"admin@\""),
                host("hosts", " " + PAYMENTS, " contains whitespace or control characters"),
                host("hosts", PAYMENTS + "\t", " contains whitespace or control characters"),
                host("hosts", "payments billing", " contains whitespace or control characters"),
                host("hosts", "payments_v2.billing.svc.clusterset.local", ": \"_\" can never be part of a mesh name "
                        + "(letters, digits, '-' and '.')"),
                host("hosts", "[::1]:8080", ": \"[\" can never be part of a mesh name (letters, digits, '-' and '.')"),
                host("hosts", PAYMENTS + "?x=1", ": \"?\" can never be part of a mesh name (letters, digits, '-' and "
                        + "'.')"),
                host("hosts", "paymënts.billing.svc.clusterset.local", ": \"ë\" can never be part of a mesh name "
                        + "(letters, digits, '-' and '.')"),
                host("hosts", PAYMENTS + ".", ": hosts are matched against the mesh name without a trailing dot: "
                        + "remove it"),
                host("notHosts", "*.clusterset.local.", ": hosts are matched against the mesh name without a trailing "
                        + "dot: remove it"),
                host("hosts", "payments..svc.clusterset.local", ": a mesh name has no empty label (\"..\")"),
                host("hosts", ".billing.svc.clusterset.local", ": a mesh name does not start with '.'"),
                host("hosts", "*pay*", ": '*' is allowed only as the whole value, at the start (suffix match, "
                        + "\"*/sa/checkout\") or at the end (prefix match, \"spiffe://td/ns/shop/*\")"));
        String isthmus = "security.isthmus.io/dry-run";
        String istio = "istio.io/dry-run";
        Stream<Arguments> dryRun = Stream.of(
                Arguments.of(annotated(istio + ": \"yes\"", "{action: DENY, rules: [{}]}"),
                        List.of("metadata.annotations[\"istio.io/dry-run\"]: \"yes\" is not \"true\" or \"false\" "
                                + "(annotation values are strings: quote them)")),
                Arguments.of(annotated(istio + ": true", "{action: DENY, rules: [{}]}"),
                        List.of("metadata.annotations[\"istio.io/dry-run\"]: a boolean (true) is not \"true\" or "
                                + "\"false\" (annotation values are strings: quote them)")),
                Arguments.of(annotated(istio + ": \"True\", " + isthmus + ": \"1\"", "{action: DENY, rules: [{}]}"),
                        List.of("metadata.annotations[\"security.isthmus.io/dry-run\"]: \"1\" is not \"true\" or "
                                        + "\"false\" (annotation values are strings: quote them)",
                                "metadata.annotations[\"istio.io/dry-run\"]: \"True\" is not \"true\" or \"false\" "
                                        + "(annotation values are strings: quote them)")),
                Arguments.of(annotated(isthmus + ": \"false\", " + istio + ": \"true\"", "{rules: [{}]}"),
                        List.of("metadata.annotations: \"security.isthmus.io/dry-run\" is \"false\" but "
                                + "\"istio.io/dry-run\" is \"true\": the two mean the same; remove one, or give both "
                                + "the same value")),
                Arguments.of(annotated(istio + ": \"false\", " + isthmus + ": \"true\"", "{rules: [{}]}"),
                        List.of("metadata.annotations: \"security.isthmus.io/dry-run\" is \"true\" but "
                                + "\"istio.io/dry-run\" is \"false\": the two mean the same; remove one, or give both "
                                + "the same value")),
                Arguments.of(annotated(istio + ": \"true\"", "{mode: OBSERVE}"),
                        List.of("metadata.annotations[\"istio.io/dry-run\"]: a mode policy (spec.mode) cannot be "
                                + "dry-run: to try observe mode, it is the mode itself that changes nothing")),
                Arguments.of(annotated(istio + ": \"true\"", "{action: AUDIT, rules: [{}]}"),
                        List.of("metadata.annotations[\"istio.io/dry-run\"]: an AUDIT policy never decides, so "
                                + "dry-run changes nothing for it; remove the annotation")));
        return Stream.of(emptyLists, sourceFields, operationFields, hosts, dryRun).flatMap(x -> x);
    }

    static Arguments host(String field, String value, String message) {
        return Arguments.of(doc("rules:\n- to:\n  - operation: {" + field + ": [\"" + value.replace("\t", "\\t")
                + "\"]}\n"), List.of("spec.rules[0].to[0].operation." + field + "[0]: \"" + value + "\"" + message));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("refusedExactly")
    void refusesWithExactlyTheseViolations(String yaml, List<String> expected) {
        InvalidPolicyException e = catchThrowableOfType(InvalidPolicyException.class,
                () -> PolicyParser.parse(node(yaml), "t.yaml#1"));
        assertThat(e).as("should be refused: %s", yaml).isNotNull();
        assertThat(e.violations()).map(PolicyViolation::toString).containsExactlyElementsOf(expected);
    }

    /** Accepted next to the refusals above: what is left out, wildcards, case, and ports where a port belongs. */
    @Test
    void acceptsHostPatternsNoEmptyListAndIstiosDryRun() {
        assertThat(PolicyParser.parse(node(doc("rules: []\n")), "t#1").rules()).isEmpty();
        assertThat(PolicyParser.parse(node(doc("rules: [{}]\n")), "t#1").rules()).hasSize(1);
        Operation o = PolicyParser.parse(node(doc("""
                rules:
                - to:
                  - operation:
                      hosts: ["*", "*.billing.svc.clusterset.local", "payments.*", "PAYMENTS.Billing.svc.clusterset.local",
                              "*-canary.billing.svc.clusterset.local", "payments.billing.svc.clusterset.local"]
                      notHosts: ["*.internal", "legacy-*"]
                      ports: [8080]
                """)), "t#1").rules().get(0).to().get(0);
        assertThat(o.hosts()).map(StringMatch::toString).containsExactly("*", "*.billing.svc.clusterset.local",
                "payments.*", "payments.billing.svc.clusterset.local", "*-canary.billing.svc.clusterset.local",
                "payments.billing.svc.clusterset.local");
        assertThat(o.hosts()).map(StringMatch::kind).containsExactly(StringMatch.Kind.ANY, StringMatch.Kind.SUFFIX,
                StringMatch.Kind.PREFIX, StringMatch.Kind.EXACT, StringMatch.Kind.SUFFIX, StringMatch.Kind.EXACT);
        assertThat(o.notHosts()).map(StringMatch::toString).containsExactly("*.internal", "legacy-*");
        for (String[] c : new String[][] {{"istio.io/dry-run: \"true\"", "true"},
                {"istio.io/dry-run: \"false\"", "false"},
                {"istio.io/dry-run: \"true\", security.isthmus.io/dry-run: \"true\"", "true"},
                {"istio.io/dry-run: \"false\", security.isthmus.io/dry-run: \"false\"", "false"},
                {"istio.io/dry-run: \"false\", other.example/x: \"y\"", "false"}}) {
            AuthorizationPolicy p = PolicyParser.parse(node(annotated(c[0], "{action: DENY, rules: [{}]}")), "t#1");
            assertThat(p.dryRun()).as(c[0]).isEqualTo(Boolean.parseBoolean(c[1]));
            assertThat(p.enforced()).as(c[0]).isEqualTo(!p.dryRun());
        }
    }

    @Test
    void collectsEveryViolationOfOneDocument() {
        InvalidPolicyException e = catchThrowableOfType(InvalidPolicyException.class, () -> PolicyParser.parse(node(
                doc("action: NOPE\nrules:\n- to:\n  - operation: {methods: [FETCH], ports: [70000]}\n")), "f#3"));
        assertThat(e.violations()).map(PolicyViolation::path).containsExactly("spec.action",
                "spec.rules[0].to[0].operation.methods[0]", "spec.rules[0].to[0].operation.ports[0]");
        assertThat(e.source()).isEqualTo("f#3 (billing/p)");
    }

    @Test
    void acceptsTheFullGrammar() {
        AuthorizationPolicy p = PolicyParser.parse(node(doc("""
                action: DENY
                selector: {services: [payments]}
                rules:
                - from:
                  - source:
                      principals: ["spiffe://a.acme.internal/ns/shop/sa/checkout", "spiffe://a.acme.internal/ns/shop/*",
                                   "*/sa/checkout", "*", "cluster.local/ns/default/sa/sleep"]
                      notPrincipals: ["spiffe://a.acme.internal/ns/shop/sa/legacy"]
                      trustDomains: ["a.acme.internal", "spiffe://b.acme.internal"]
                      notTrustDomains: ["*.evil.example"]
                      namespaces: ["shop", "team-*"]
                      notNamespaces: ["kube-system"]
                  to:
                  - operation:
                      methods: ["GET", "POST", "*"]
                      notMethods: ["DELETE"]
                      paths: ["/v1/*", "*.json", "/healthz"]
                      notPaths: ["/v1/admin*"]
                      ports: [8080, "9090"]
                      notPorts: [9901]
                      hosts: ["payments.billing.svc.clusterset.local"]
                      notHosts: ["*.internal"]
                """)), "t#1");
        assertThat(p.id()).hasToString("billing/p");
        assertThat(p.action()).isEqualTo(PolicyAction.DENY);
        assertThat(p.selectorServices()).containsExactly("payments");
        Source s = p.rules().get(0).from().get(0);
        assertThat(s.principals()).map(StringMatch::toString).containsExactly(
                "spiffe://a.acme.internal/ns/shop/sa/checkout", "spiffe://a.acme.internal/ns/shop/*",
                "*/sa/checkout", "*", "cluster.local/ns/default/sa/sleep");
        assertThat(s.trustDomains()).map(StringMatch::toString).containsExactly("a.acme.internal", "b.acme.internal");
        Operation o = p.rules().get(0).to().get(0);
        assertThat(o.ports()).containsExactlyInAnyOrder(8080, 9090);
        assertThat(o.notPorts()).containsExactly(9901);
        assertThat(o.paths()).map(StringMatch::kind).containsExactly(StringMatch.Kind.PREFIX,
                StringMatch.Kind.SUFFIX, StringMatch.Kind.EXACT);
    }

    @Test
    void readsModePoliciesDryRunAnnotationsAndPathTemplates() {
        AuthorizationPolicy observe = PolicyParser.parse(node(doc("mode: OBSERVE\nselector: {services: [payments]}\n")),
                "t#1");
        assertThat(observe.mode()).contains(PolicyMode.OBSERVE);
        assertThat(observe.enforced()).isFalse();
        assertThat(observe.selectorServices()).containsExactly("payments");
        assertThat(PolicyParser.parse(node(doc("mode: ENFORCE\n")), "t#1").mode()).contains(PolicyMode.ENFORCE);

        AuthorizationPolicy dry = PolicyParser.parse(node("""
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata:
                  name: p
                  namespace: billing
                  annotations: {security.isthmus.io/dry-run: "true", other.example/x: "y"}
                spec: {action: DENY, rules: [{to: [{operation: {methods: [DELETE]}}]}]}
                """), "t#1");
        assertThat(dry.dryRun()).isTrue();
        assertThat(dry.enforced()).isFalse();
        AuthorizationPolicy notDry = PolicyParser.parse(node("""
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: p, namespace: billing, annotations: {security.isthmus.io/dry-run: "false"}}
                spec: {action: DENY, rules: [{}]}
                """), "t#1");
        assertThat(notDry.dryRun()).isFalse();
        assertThat(notDry.enforced()).isTrue();

        AuthorizationPolicy templates = PolicyParser.parse(node(doc(
                "rules:\n- to:\n  - operation: {paths: [\"/orders/{*}/items\", \"/static/{**}\"], "
                        + "notPaths: [\"/orders/{*}/admin\"]}\n")), "t#1");
        Operation o = templates.rules().get(0).to().get(0);
        assertThat(o.paths()).map(StringMatch::kind).containsExactly(StringMatch.Kind.TEMPLATE,
                StringMatch.Kind.TEMPLATE);
        assertThat(o.paths()).map(StringMatch::toString).containsExactly("/orders/{*}/items", "/static/{**}");
        assertThat(o.notPaths()).map(StringMatch::kind).containsExactly(StringMatch.Kind.TEMPLATE);
    }

    @Test
    void missingSpecIsAllowNothingAndActionDefaultsToAllow() {
        AuthorizationPolicy p = PolicyParser.parse(node("""
                apiVersion: security.isthmus.io/v1alpha1
                kind: AuthorizationPolicy
                metadata: {name: p, namespace: billing, labels: {a: b}, resourceVersion: "7"}
                """), "t#1");
        assertThat(p.action()).isEqualTo(PolicyAction.ALLOW);
        assertThat(p.rules()).isEqualTo(List.of());
    }

    /** Every ASCII character in a principal, a path and a method: accepted, or refused naming the field. */
    @Test
    void characterSweepNeverEscapesAsAnotherException() {
        for (char c = 0; c < 128; c++) {
            String ch = String.valueOf(c);
            for (String[] field : new String[][] {
                    {"from", "source", "principals", "spiffe://a.acme.internal/ns/x" + ch + "y"},
                    {"to", "operation", "paths", "/a" + ch + "b"},
                    {"to", "operation", "methods", "GE" + ch}}) {
                com.fasterxml.jackson.databind.node.ObjectNode d = (com.fasterxml.jackson.databind.node.ObjectNode)
                        node(doc("rules: []\n"));
                com.fasterxml.jackson.databind.node.ObjectNode leaf = d.with("spec").withArray("rules").addObject()
                        .withArray(field[0]).addObject().with(field[1]);
                leaf.withArray(field[2]).add(field[3]);
                String path = "spec.rules[0]." + field[0] + "[0]." + field[1] + "." + field[2] + "[0]";
                try {
                    PolicyParser.parse(d, "sweep");
                } catch (InvalidPolicyException e) {
                    assertThat(e.violations()).as("char %d in %s", (int) c, field[2])
                            .allSatisfy(v -> assertThat(v.path()).isEqualTo(path));
                }
            }
        }
        // Spot checks of the sweep's outcomes.
        assertThat(catchThrowableOfType(InvalidPolicyException.class, () -> PolicyParser.parse(node(
                doc("rules:\n- to:\n  - operation: {paths: [\"/a b\"]}\n")), "t"))).isNotNull();
        assertThat(catchThrowableOfType(InvalidPolicyException.class, () -> PolicyParser.parse(node(
                doc("rules:\n- from:\n  - source: {principals: [\"spiffe://a.acme.internal/ns/x?y\"]}\n")), "t")))
                .isNotNull();
    }

    @Test
    void starSweepInPatterns() {
        for (String ok : List.of("*", "*x", "x*", "spiffe://a/ns/*", "*/sa/y")) {
            assertThat(StringMatch.patternError(ok)).as(ok).isNull();
        }
        for (String bad : List.of("**", "a*b", "*a*", "a**", "*a/*", "")) {
            assertThat(StringMatch.patternError(bad)).as(bad).isNotNull();
        }
    }
}
