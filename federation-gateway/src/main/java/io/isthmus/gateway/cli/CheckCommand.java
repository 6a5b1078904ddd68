package io.isthmus.gateway.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import com.fasterxml.jackson.databind.JsonNode;

import io.isthmus.gateway.authz.explain.Explanation;
import io.isthmus.gateway.check.CallChecks;
import io.isthmus.gateway.check.CheckInput;
import io.isthmus.gateway.check.CheckReport;
import io.isthmus.gateway.check.CheckResult;
import io.isthmus.gateway.check.ExpiryMetrics;
import io.isthmus.gateway.check.FederationChecks;
import io.isthmus.gateway.check.Thresholds;
import io.isthmus.gateway.status.FederationStatus;
import io.isthmus.gateway.status.StatusJson;
import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.federation.BundleEndpointClient;
import io.isthmus.trust.federation.PeerConfig;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Pem;

/**
 * {@code isthmus check}: walks one gateway's whole path and prints a line per check ({@link FederationChecks}), or,
 * with {@code --from/--to}, one call from the caller's side ({@link CallChecks}). Reads the gateway's management port
 * ({@code /federation/api/status}, {@code /q/metrics}), fetches its bundle endpoint itself, and for a call's policy
 * asks the destination's admin API. Exit 0 when every check passes, 1 when any fails (or the gateway cannot be read),
 * 2 on wrong usage.
 */
@Command(name = "check", description = {"Check one gateway and its view of the federation: one line per check, "
        + "with the cause and the fix; exit 1 if any fails.",
        "With --from <cluster> --to <mesh name>: walk one call from the caller's gateway (resolution, routing order, "
                + "peer ingress, the destination's policy)."})
final class CheckCommand implements Callable<Integer> {
    static final int FAILED = 1;

    @Spec
    CommandSpec spec;

    @Option(names = "--gateway", required = true, description = "The gateway's management URL, http://host:8080 "
            + "(for --from: the gateway of that cluster).")
    URI gateway;

    @Option(names = "--root-ca", description = "Federation root certificate(s), PEM, to verify chains and bundles "
            + "against (default: the roots the gateway reports, which checks consistency but not the gateway itself).")
    Path rootCa;

    @Option(names = "--bundle-endpoint", description = "The gateway's bundle endpoint as peers reach it (default: "
            + "https://<host of --gateway>:<its bundle port>/).")
    URI bundleEndpoint;

    @Option(names = {"-o", "--output"}, defaultValue = "text", description = "text or json (default: ${DEFAULT-VALUE}).")
    String output;

    @Option(names = "--ca-expiry-warning", defaultValue = "7d", description = "Fail a CA with less time left "
            + "(default: ${DEFAULT-VALUE}).")
    Duration caExpiry;

    @Option(names = "--max-clock-offset", defaultValue = "5s", description = "Fail a peer clock further off "
            + "(default: ${DEFAULT-VALUE}).")
    Duration maxClockOffset;

    @Option(names = "--from", description = "The caller's cluster (the gateway at --gateway must be its gateway).")
    String from;

    @Option(names = "--to", description = "The mesh name to call, <service>.<namespace>[.svc.clusterset.local].")
    String to;

    @Option(names = "--caller", description = "The caller's SPIFFE ID, for the destination's policy decision.")
    String caller;

    @Mixin
    RequestOptions request;

    @Option(names = "--to-api", description = "Admin API of the destination cluster's gateway, https://host:15012, "
            + "to ask its live policy.")
    URI toApi;

    @Option(names = "--admin-token-file", description = "Bootstrap admin token of the destination's gateway.")
    Path adminTokenFile;

    @Option(names = "--to-trust-domain", paramLabel = "<td>", description = "With --to-api: the destination cluster's "
            + "trust domain (required, or --to-gateway-id). The admin token is sent only to that trust domain's gateway "
            + "(spiffe://<td>" + TokenCommand.GATEWAY_PATH + "), never to a gateway of another federated trust domain.")
    String toTrustDomain;

    @Option(names = "--to-gateway-id", description = "With --to-api: exact SPIFFE ID the destination's gateway must "
            + "present, instead of spiffe://<--to-trust-domain>" + TokenCommand.GATEWAY_PATH + ".")
    String toGatewayId;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!output.equals("text") && !output.equals("json")) {
            err.println("-o '" + output + "' is not text or json");
            return 2;
        }
        if ((from == null) != (to == null)) {
            err.println("--from and --to go together");
            return 2;
        }
        if (request.usageError().isPresent()) {
            err.println(request.usageError().get());
            return 2;
        }
        if (toApi != null && TokenCommand.gatewayTrust(toTrustDomain, toGatewayId)
                instanceof TokenCommand.GatewayTrust.Refused refused) {
            // Before any I/O: without it the destination's admin token would go to any federated gateway.
            err.println(refused.message().replace("--trust-domain", "--to-trust-domain")
                    .replace("--gateway-id", "--to-gateway-id"));
            return 2;
        }
        Management management = new Management(gateway);
        FederationStatus status;
        try {
            status = StatusJson.read(management.get("/federation/api/status"), gateway + "/federation/api/status");
        } catch (IOException | IllegalArgumentException | IllegalStateException e) {
            List<CheckResult> results = List.of(new CheckResult("gateway", gateway.toString(), false,
                    "cannot read its status: " + e.getMessage(), "is the gateway running, and is --gateway its"
                    + " management port (quarkus.management.port, 8080)? Is isthmus.status.enabled true?"));
            print(out, "isthmus check: " + gateway, results);
            return FAILED;
        }
        List<CheckResult> results;
        String heading;
        if (from != null) {
            if (!from.equals(status.cluster())) {
                err.println("--from " + from + ": the gateway at " + gateway + " is the gateway of cluster "
                        + status.cluster() + "; point --gateway at " + from + "'s gateway");
                return 2;
            }
            String meshName = to.contains(".svc.") ? to : to + ".svc.clusterset.local";
            heading = "isthmus check: a call from " + from + " to " + meshName + " (gateway " + status.version() + ")";
            results = CallChecks.run(status, meshName, policy(meshName));
        } else {
            heading = "isthmus check: " + status.cluster() + " (" + status.trustDomain() + ") at " + gateway
                    + ", gateway " + status.version();
            results = FederationChecks.run(input(status, management));
        }
        print(out, heading, results);
        return CheckReport.allPassed(results) ? 0 : FAILED;
    }

    private void print(PrintWriter out, String heading, List<CheckResult> results) {
        out.print(output.equals("json") ? CheckReport.json(gateway.toString(), results) + "\n"
                : CheckReport.text(heading, results));
        out.flush();
    }

    private CheckInput input(FederationStatus status, Management management) {
        Map<String, Duration> expiry;
        try {
            expiry = ExpiryMetrics.parse(management.get("/q/metrics"));
        } catch (IOException | IllegalStateException e) {
            expiry = Map.of();
        }
        List<X509Certificate> roots;
        String rootsSource;
        if (rootCa != null) {
            roots = Pem.readCertificates(rootCa);
            rootsSource = "--root-ca " + rootCa;
        } else {
            roots = status.self().rootsPem().stream().flatMap(p -> Pem.readCertificates(p, "status").stream()).toList();
            rootsSource = "the roots the gateway reports";
        }
        URI endpoint = bundleEndpoint != null ? bundleEndpoint : URI.create("https://" + gateway.getHost() + ":"
                + status.self().bundleEndpoint().substring(status.self().bundleEndpoint().lastIndexOf(':') + 1) + "/");
        return new CheckInput(status, expiry, ownBundle(status, endpoint, roots), roots, rootsSource, rootCa != null,
                new Thresholds(caExpiry, Thresholds.DEFAULT.svidRemaining(), maxClockOffset));
    }

    /** Fetches the gateway's own bundle as a peer would: https_spiffe, the endpoint authenticated from the roots. */
    private static CheckInput.OwnBundle ownBundle(FederationStatus status, URI endpoint, List<X509Certificate> roots) {
        TrustDomain td = TrustDomain.parse(status.trustDomain());
        BundleEndpointClient client = new BundleEndpointClient(new PeerConfig("self", td, endpoint, Optional.empty()),
                new FederationRoots(roots), ignored -> Optional.empty(), Clock.systemUTC(), Duration.ofSeconds(30),
                new BundleCodec(), Duration.ofSeconds(10), null);
        try {
            return CheckInput.OwnBundle.served(endpoint.toString(), client.fetch().join().bundle());
        } catch (CompletionException e) {
            return CheckInput.OwnBundle.failed(endpoint.toString(), e.getCause() == null ? e.toString()
                    : e.getCause().getMessage());
        }
    }

    private CallChecks.PolicyAnswer policy(String meshName) {
        if (caller == null || toApi == null || adminTokenFile == null || rootCa == null) {
            return CallChecks.PolicyAnswer.none("the destination's live policy needs --caller, --to-api,"
                    + " --to-trust-domain, --admin-token-file and --root-ca");
        }
        TokenCommand.Connection api = new TokenCommand.Connection();
        api.gateway = toApi;
        api.adminTokenFile = adminTokenFile;
        api.rootCa = rootCa;
        api.trustDomain = toTrustDomain;
        api.gatewayId = toGatewayId;
        try {
            JsonNode answer = api.call("POST", "/v1/admin/authz/explain", AuthzCommand.explainBody(caller, meshName,
                    request));
            return CallChecks.PolicyAnswer.of(StatusJson.mapper().treeToValue(answer, Explanation.class),
                    toApi.toString());
        } catch (IOException | RuntimeException e) {
            return CallChecks.PolicyAnswer.none("asking " + toApi + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CallChecks.PolicyAnswer.none("interrupted");
        }
    }

    /** Plain HTTP to the management port (cluster-internal, no TLS there). */
    static final class Management {
        private final URI base;
        private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

        Management(URI base) {
            this.base = base;
        }

        String get(String path) throws IOException {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve(path))
                        .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) {
                    throw new IOException(base.resolve(path) + " answered HTTP " + r.statusCode());
                }
                return r.body();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted reading " + base.resolve(path), e);
            }
        }
    }
}
