package io.isthmus.gateway.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.gateway.authz.explain.Explanation;
import io.isthmus.gateway.status.StatusJson;
import io.isthmus.proxy.authz.AccessRequest;
import io.isthmus.proxy.authz.Decision;
import io.isthmus.proxy.authz.policy.AuthorizationPolicy;
import io.isthmus.proxy.authz.policy.InvalidPolicyException;
import io.isthmus.proxy.authz.policy.PolicySet;
import io.isthmus.proxy.authz.policy.PolicyViolation;
import io.isthmus.proxy.authz.policy.source.PolicyYaml;
import io.isthmus.registry.MeshName;
import io.isthmus.trust.spiffe.SpiffeId;

/**
 * {@code isthmus authz check}: validate an AuthorizationPolicy file and explain what it decides for a request;
 * {@code suggest} and {@code simulate} turn decision logs into policies and replay them; {@code isthmus authz explain}:
 * what a gateway's live policy decides for a call, asked through its admin API.
 */
@Command(name = "authz", description = "Validate and try out AuthorizationPolicies; suggest them from decision logs.",
        subcommands = {AuthzCommand.Check.class, AuthzCommand.Explain.class, AuthzSuggestCommand.class,
                AuthzSimulateCommand.class})
final class AuthzCommand {

    @Command(name = "check", description = {"Validate a policy file (exit 1 with every error and its field path).",
            "With --caller and --to, print the decision the gateway would make (exit 0 allow, 3 deny)."})
    static final class Check implements Callable<Integer> {
        static final int DENIED = 3;

        @Spec
        CommandSpec spec;

        @Option(names = "--file", required = true, description = "Multi-document YAML of AuthorizationPolicies.")
        Path file;

        @Option(names = "--root-namespace", defaultValue = "isthmus-system",
                description = "Namespace whose policies apply mesh-wide (default: ${DEFAULT-VALUE}).")
        String rootNamespace;

        @Option(names = "--caller", description = "Caller SPIFFE ID, e.g. spiffe://a.acme.internal/ns/shop/sa/checkout.")
        String caller;

        @Option(names = "--to", description = "Destination: <service>.<namespace>[.svc.clusterset.local].")
        String to;

        @Mixin
        RequestOptions request;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            List<AuthorizationPolicy> policies;
            try {
                policies = PolicyYaml.parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
            } catch (InvalidPolicyException e) {
                for (PolicyViolation v : e.violations()) {
                    err.println(v);
                }
                err.println(file + ": invalid, " + e.violations().size() + " error(s); the gateway would keep its "
                        + "previous policies");
                return 1;
            }
            out.println(file + ": " + policies.size() + " valid AuthorizationPolicies");
            if (caller == null && to == null) {
                return 0;
            }
            if (caller == null || to == null) {
                err.println("--caller and --to go together");
                return 2;
            }
            if (request.usageError().isPresent()) {
                err.println(request.usageError().get());
                return 2;
            }
            SpiffeId source = SpiffeId.parse(caller);
            MeshName destination = destination(to).orElse(null);
            if (destination == null) {
                err.println("--to '" + to + "' is not <service>.<namespace>[." + MeshName.DEFAULT_SUFFIX + "]");
                return 2;
            }
            AccessRequest access = !request.http() ? AccessRequest.tcp(source, destination, request.port)
                    : AccessRequest.http(source, destination, request.port, request.method, request.path);
            Decision d = PolicySet.of(rootNamespace, policies).decide(access);
            d.observed().ifPresent(o -> out.println("OBSERVE mode (" + d.policy() + "): allowed; the policies would "
                    + (o.allowed() ? "allow" : "deny") + ":"));
            Decision shown = d.observed().orElse(d);
            switch (shown) {
                case Decision.Allowed a -> out.println("ALLOW by " + a.policy() + " " + a.rule());
                case Decision.Denied x -> out.println("DENY " + x.reason().code()
                        + (x.policy().isEmpty() ? "" : " by " + x.policy() + " " + x.rule()) + ": " + x.detail());
            }
            if (!d.auditMatches().isEmpty()) {
                out.println("AUDIT matched: " + String.join(", ", d.auditMatches()));
            }
            d.dryRun().ifPresent(x -> out.println("DRY-RUN policies would " + (x.allowed() ? "allow" : "deny "
                    + ((Decision.Denied) x).reason().code()) + (x.policy().isEmpty() ? "" : " by " + x.policy()
                    + " " + x.rule())));
            return d.allowed() ? 0 : DENIED;
        }

        private static Optional<MeshName> destination(String text) {
            String host = text.endsWith("." + MeshName.DEFAULT_SUFFIX) ? text : text + "." + MeshName.DEFAULT_SUFFIX;
            return MeshName.parseHost(host, MeshName.DEFAULT_SUFFIX);
        }
    }

    @Command(name = "explain", description = {"Ask the destination gateway's live policy what it decides for a call: "
            + "the rule that decided, the path as its ingress normalizes it, the reason code it would answer with.",
            "Exit 0 allow, 3 deny or refused, 1 on failure."})
    static final class Explain implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        TokenCommand.ConnectionMixin connection;

        @Option(names = "--from", required = true, description = "The caller's SPIFFE ID.")
        String from;

        @Option(names = "--to", required = true, description = "The mesh name called, <service>.<namespace>[.svc.clusterset.local].")
        String to;

        @Mixin
        RequestOptions request;

        @Override
        public Integer call() throws Exception {
            if (request.usageError().isPresent()) {
                spec.commandLine().getErr().println(request.usageError().get());
                return 2;
            }
            ObjectNode body = explainBody(from, to, request);
            JsonNode answer = connection.connection.call("POST", "/v1/admin/authz/explain", body);
            Explanation e = StatusJson.mapper().treeToValue(answer, Explanation.class);
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%s %s (HTTP %d, x-isthmus-reason: %s)%n", e.outcome().toUpperCase(java.util.Locale.ROOT),
                    e.policy().isEmpty() ? (e.outcome().equals("refused") ? "before any policy" : "by default deny")
                            : "by " + e.policy() + " " + e.rule(), e.status(), e.reason());
            if (request.http()) {
                out.printf("path:    %s -> %s (isthmus.proxy.path-normalization=%s)%n", request.path,
                        e.normalizedPath().orElse("refused"), e.pathNormalization());
            }
            if (!e.detail().isEmpty()) {
                out.printf("detail:  %s%n", e.detail());
            }
            if (!e.auditMatches().isEmpty()) {
                out.printf("audit:   %s%n", String.join(", ", e.auditMatches()));
            }
            if (!e.servedHere()) {
                out.printf("note:    %s does not export %s; calls go to the clusters that do%n",
                        connection.connection.gateway, to);
            }
            return e.allowed() ? 0 : Check.DENIED;
        }
    }

    /** The body of {@code POST /v1/admin/authz/explain}. */
    static ObjectNode explainBody(String caller, String to, RequestOptions request) {
        ObjectNode body = StatusJson.mapper().createObjectNode().put("caller", caller).put("to", to)
                .put("port", request.port);
        if (request.http()) {
            body.put("method", request.method).put("path", request.path);
        }
        return body;
    }
}
