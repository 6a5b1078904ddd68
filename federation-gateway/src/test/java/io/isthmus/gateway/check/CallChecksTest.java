package io.isthmus.gateway.check;

import static io.isthmus.gateway.check.StatusFixture.NOW;
import static io.isthmus.gateway.check.StatusFixture.healthy;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.isthmus.gateway.authz.explain.Explanation;
import io.isthmus.gateway.status.ExportRow;
import io.isthmus.gateway.status.FederationStatus;
import io.isthmus.gateway.status.PeerView;
import io.isthmus.gateway.status.ProbeView;
import io.isthmus.gateway.status.RegistryView;
import io.isthmus.gateway.status.ServiceRow;

/** One call walked from the caller's side: each step passes or fails with its cause, and the walk stops where it must. */
class CallChecksTest {
    static final String PAYMENTS = "payments.billing.svc.clusterset.local";
    static final Explanation ALLOW = new Explanation("allow", 200, "allowed", "billing/payments-from-checkout",
            "rules[0]", "", Optional.of("/charge"), "merge-slashes", List.of(), true);
    static final Explanation DENY = new Explanation("deny", 403, "no-matching-allow", "", "",
            "no ALLOW rule matches spiffe://alpha.acme.internal/ns/shop/sa/intruder", Optional.of("/charge"),
            "merge-slashes", List.of(), true);

    @Test
    void aCallThatResolvesRoutesReachesAndIsAllowedPassesEveryStep() {
        List<CheckResult> r = CallChecks.run(healthy(), PAYMENTS, CallChecks.PolicyAnswer.of(ALLOW, "https://beta:15012"));
        assertThat(r).extracting(CheckResult::check).containsExactly("call-resolution", "call-routing", "call-ingress",
                "call-policy");
        assertThat(r).allSatisfy(x -> assertThat(x.ok()).as("%s", x).isTrue());
        assertThat(r.get(1).cause()).startsWith("beta");
        assertThat(r.get(3).cause()).contains("ALLOW by billing/payments-from-checkout rules[0]")
                .contains("path normalized to /charge");
    }

    @Test
    void anUnknownNameStopsAtResolution() {
        List<CheckResult> r = CallChecks.run(healthy(), "ledger.billing.svc.clusterset.local",
                CallChecks.PolicyAnswer.of(ALLOW, "x"));
        assertThat(r).singleElement().satisfies(x -> {
            assertThat(x.check()).isEqualTo("call-resolution");
            assertThat(x.ok()).isFalse();
            assertThat(x.cause()).contains("no cluster exports ledger.billing.svc.clusterset.local");
        });
    }

    @Test
    void anExportThatIsNotRoutableStopsAtRouting() {
        ExportRow stale = new ExportRow("beta", PAYMENTS, 2, NOW.minusSeconds(60), 15, true, false);
        FederationStatus s = withRegistry(healthy(), new RegistryView("alpha", true, healthy().registry().sites(),
                List.of(stale), List.of(new ServiceRow(PAYMENTS, List.of(stale), List.of()))));
        List<CheckResult> r = CallChecks.run(s, PAYMENTS, CallChecks.PolicyAnswer.of(ALLOW, "x"));
        assertThat(r).hasSize(2);
        assertThat(r.get(0).cause()).contains("beta (stale)");
        assertThat(r.get(1).ok()).isFalse();
        assertThat(r.get(1).cause()).contains("no export is routable");
    }

    @Test
    void anIngressThatDoesNotAnswerFailsTheIngressStep() {
        FederationStatus s = healthy();
        PeerView p = s.peers().get(0);
        PeerView down = new PeerView(p.name(), p.trustDomain(), p.bundleEndpointUrl(), p.sync(), p.bundlePem(),
                new ProbeView(Optional.of("10.0.0.2:15443"), false, Optional.empty(),
                        Optional.of("10.0.0.2:15443: connection refused"), 1, NOW), p.clock());
        FederationStatus broken = new FederationStatus(s.cluster(), s.trustDomain(), s.time(), s.version(), s.self(),
                List.of(down), s.authorities(), s.registry(), s.policySources(), s.recentDenials());
        assertThat(CallChecks.run(broken, PAYMENTS, CallChecks.PolicyAnswer.of(ALLOW, "x")))
                .filteredOn(x -> !x.ok()).singleElement().satisfies(x -> {
                    assertThat(x.check()).isEqualTo("call-ingress");
                    assertThat(x.cause()).contains("connection refused");
                });
    }

    @Test
    void aDenialFailsThePolicyStepWithTheReasonCode() {
        assertThat(CallChecks.run(healthy(), PAYMENTS, CallChecks.PolicyAnswer.of(DENY, "https://beta:15012")))
                .filteredOn(x -> !x.ok()).singleElement().satisfies(x -> {
                    assertThat(x.check()).isEqualTo("call-policy");
                    assertThat(x.cause()).contains("DENY 403 no-matching-allow").contains("intruder");
                });
    }

    @Test
    void aPolicyThatWasNotAskedIsAFailureNotASilentPass() {
        assertThat(CallChecks.run(healthy(), PAYMENTS, CallChecks.PolicyAnswer.none("needs --caller")))
                .filteredOn(x -> !x.ok()).singleElement().satisfies(x -> {
                    assertThat(x.check()).isEqualTo("call-policy");
                    assertThat(x.cause()).contains("not evaluated");
                    assertThat(x.fix()).contains("--to-api");
                });
    }

    private static FederationStatus withRegistry(FederationStatus s, RegistryView r) {
        return new FederationStatus(s.cluster(), s.trustDomain(), s.time(), s.version(), s.self(), s.peers(),
                s.authorities(), r, s.policySources(), s.recentDenials());
    }
}
