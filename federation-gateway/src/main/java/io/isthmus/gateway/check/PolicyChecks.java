package io.isthmus.gateway.check;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import io.isthmus.gateway.status.PolicySourceView;

/** The authorization policy sources: loaded, and what their last reload refused. Pure. */
final class PolicyChecks {
    static final String POLICY = "policy";

    private PolicyChecks() {
    }

    static List<CheckResult> run(List<PolicySourceView> sources, Instant now) {
        List<CheckResult> results = new ArrayList<>();
        if (sources.isEmpty()) {
            results.add(CheckResult.fail(POLICY, "", "no policy source has loaded: every federated call is denied"
                    + " (default deny)", "set isthmus.authz.policy-file, or isthmus.authz.source=kubernetes with"
                    + " AuthorizationPolicy resources"));
        }
        for (PolicySourceView s : sources) {
            String loaded = s.policies() + " polic" + (s.policies() == 1 ? "y" : "ies") + " in force"
                    + s.lastSuccess().map(t -> ", loaded " + Durations.human(Duration.between(t, now)) + " ago")
                    .orElse(", never loaded");
            if (!s.errors().isEmpty()) {
                results.add(CheckResult.fail(POLICY, s.source(), "the latest load was refused"
                        + s.lastFailure().map(t -> " " + Durations.human(Duration.between(t, now)) + " ago").orElse("")
                        + ": " + String.join("; ", s.errors()) + " (" + loaded + ", unchanged)",
                        "fix the " + s.source() + " source and try it first with: isthmus authz check --file <file>"));
            } else {
                results.add(CheckResult.pass(POLICY, s.source(), loaded));
            }
        }
        return results;
    }
}
