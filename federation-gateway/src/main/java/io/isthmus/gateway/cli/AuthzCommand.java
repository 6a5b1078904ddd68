package io.isthmus.gateway.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

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
 * {@code suggest} and {@code simulate} turn decision logs into policies and replay them.
 */
@Command(name = "authz", description = "Validate and try out AuthorizationPolicies; suggest them from decision logs.",
        subcommands = {AuthzCommand.Check.class, AuthzSuggestCommand.class, AuthzSimulateCommand.class})
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

        @Option(names = "--port", defaultValue = "80", description = "Destination port (default: ${DEFAULT-VALUE}).")
        int port;

        @Option(names = "--method", description = "HTTP method; omit with --path for TCP traffic.")
        String method;

        @Option(names = "--path", description = "HTTP path.")
        String path;

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
            if ((method == null) != (path == null)) {
                err.println("--method and --path go together (omit both for TCP)");
                return 2;
            }
            SpiffeId source = SpiffeId.parse(caller);
            MeshName destination = destination(to).orElse(null);
            if (destination == null) {
                err.println("--to '" + to + "' is not <service>.<namespace>[." + MeshName.DEFAULT_SUFFIX + "]");
                return 2;
            }
            AccessRequest request = method == null ? AccessRequest.tcp(source, destination, port)
                    : AccessRequest.http(source, destination, port, method, path);
            Decision d = PolicySet.of(rootNamespace, policies).decide(request);
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
}
