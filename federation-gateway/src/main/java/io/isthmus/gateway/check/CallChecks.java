package io.isthmus.gateway.check;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.isthmus.gateway.authz.explain.Explanation;
import io.isthmus.gateway.status.ExportRow;
import io.isthmus.gateway.status.FederationStatus;
import io.isthmus.gateway.status.PeerView;
import io.isthmus.gateway.status.ServiceRow;

/**
 * {@code isthmus check --from <cluster> --to <mesh name>}: one call walked from the caller's side, with the caller's
 * gateway's view: does its registry resolve the name, in which order would the egress try the clusters, does the first
 * cluster's ingress answer as that cluster's gateway, and would the destination's policy let the caller in. Pure.
 */
public final class CallChecks {
    static final String RESOLUTION = "call-resolution";
    static final String ROUTING = "call-routing";
    static final String INGRESS = "call-ingress";
    static final String POLICY = "call-policy";

    private CallChecks() {
    }

    /** The destination policy's answer, or why there is none. */
    public record PolicyAnswer(Optional<Explanation> explanation, String askedAt, Optional<String> unavailable) {
        public static PolicyAnswer of(Explanation e, String askedAt) {
            return new PolicyAnswer(Optional.of(e), askedAt, Optional.empty());
        }

        public static PolicyAnswer none(String why) {
            return new PolicyAnswer(Optional.empty(), "", Optional.of(why));
        }
    }

    public static List<CheckResult> run(FederationStatus s, String meshName, PolicyAnswer policy) {
        List<CheckResult> results = new ArrayList<>();
        Optional<ServiceRow> row = s.registry().services().stream().filter(r -> r.meshName().equals(meshName)).findFirst();
        if (row.isEmpty()) {
            results.add(CheckResult.fail(RESOLUTION, meshName, "no cluster exports " + meshName + " in " + s.cluster()
                    + "'s registry (" + s.registry().services().size() + " mesh names known)", "export it in its"
                    + " cluster (a ServiceExport, a VM agent registration or isthmus.registry.static-exports), and"
                    + " check the bridge lines of isthmus check"));
            return results;
        }
        List<ExportRow> exports = row.get().exports();
        results.add(CheckResult.pass(RESOLUTION, meshName, "exported by " + exports.stream().map(e -> e.cluster()
                + (e.stale() ? " (stale)" : e.readyEndpoints() == 0 ? " (no ready endpoint)" : "")).toList()));
        List<String> order = row.get().routingOrder();
        if (order.isEmpty()) {
            results.add(CheckResult.fail(ROUTING, meshName, "no export is routable from " + s.cluster()
                    + ": each is stale or has no ready endpoint", "bring an endpoint up in an exporting cluster, or"
                    + " fix the lease of a stale one (see isthmus check: stale-entries, bridge, clock-skew)"));
            return results;
        }
        results.add(CheckResult.pass(ROUTING, meshName, String.join(" -> ", order) + " (nearest first; the egress"
                + " fails over along this order)"));
        String first = order.get(0);
        if (first.equals(s.cluster())) {
            results.add(CheckResult.pass(INGRESS, first, "served by this cluster's own ingress"));
        } else {
            Optional<PeerView> peer = s.peers().stream().filter(p -> p.name().equals(first)).findFirst();
            if (peer.isEmpty()) {
                results.add(CheckResult.fail(INGRESS, first, first + " is a registry site but no trust peer of "
                        + s.cluster() + ": its ingress cannot be authenticated", "add isthmus.peers." + first
                        + ".trust-domain and .bundle-endpoint-url"));
            } else {
                CheckResult probe = PeerChecks.ingress(peer.get());
                results.add(new CheckResult(INGRESS, first, probe.ok(), probe.cause(), probe.fix()));
            }
        }
        results.add(policy(policy, first));
        return results;
    }

    private static CheckResult policy(PolicyAnswer answer, String cluster) {
        if (answer.explanation().isEmpty()) {
            return CheckResult.fail(POLICY, cluster, "not evaluated: " + answer.unavailable().orElse(""),
                    "pass --caller <SPIFFE ID>, --to-api https://<gateway of " + cluster + ">:15012,"
                            + " --to-trust-domain <its trust domain> and --admin-token-file (and --method/--path for HTTP)");
        }
        Explanation e = answer.explanation().get();
        String path = e.normalizedPath().map(p -> ", path normalized to " + p + " (" + e.pathNormalization() + ")")
                .orElse("");
        String where = " at " + answer.askedAt() + (e.servedHere() ? "" : " (which does not export it itself)");
        if (e.allowed()) {
            return CheckResult.pass(POLICY, cluster, "ALLOW by " + e.policy() + " " + e.rule() + path + where);
        }
        return CheckResult.fail(POLICY, cluster, e.outcome().toUpperCase(java.util.Locale.ROOT) + " " + e.status()
                + " " + e.reason() + (e.policy().isEmpty() ? "" : " by " + e.policy() + " " + e.rule()) + path + ": "
                + e.detail() + where, e.outcome().equals("refused") ? "send the path as the backend reads it"
                : "add an ALLOW rule for the caller to the destination's policy, or see why a DENY rule matches:"
                        + " isthmus authz explain");
    }
}
