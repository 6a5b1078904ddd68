package io.isthmus.gateway.check;

import static io.isthmus.gateway.check.StatusFixture.GAMMA;
import static io.isthmus.gateway.check.StatusFixture.NOW;
import static io.isthmus.gateway.check.StatusFixture.PKI;
import static io.isthmus.gateway.check.StatusFixture.healthy;
import static io.isthmus.gateway.check.StatusFixture.input;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.isthmus.gateway.status.ClockView;
import io.isthmus.gateway.status.ExportRow;
import io.isthmus.gateway.status.FederationStatus;
import io.isthmus.gateway.status.PeerView;
import io.isthmus.gateway.status.PolicySourceView;
import io.isthmus.gateway.status.ProbeView;
import io.isthmus.gateway.status.SvidView;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.TestCa;

/**
 * The checks of {@code isthmus check} as a table: a healthy federation passes every line; each broken fact fails the
 * check it belongs to, with the cause named, and leaves the unrelated checks passing.
 */
class FederationChecksTest {

    @Test
    void aHealthyFederationPassesEveryCheck() {
        List<CheckResult> results = FederationChecks.run(input(healthy()));
        assertThat(results).allSatisfy(r -> assertThat(r.ok()).as("%s", r).isTrue());
        assertThat(results).extracting(CheckResult::check).contains("configuration", "file-permissions",
                "federation-roots", "ca-chain", "ca-expiry", "svid-expiry", "bundle-endpoint", "peer-bundle",
                "peer-ca", "bridge", "stale-entries", "peer-ingress", "policy", "clock-skew");
        assertThat(CheckReport.text("h", results)).contains("✓ peer-ingress beta").endsWith("checks passed\n");
    }

    static Stream<Arguments> brokenFacts() {
        return Stream.of(
                row("a stopped peer: its ingress refuses connections", "peer-ingress", "connection refused",
                        in -> peer(in, p -> new PeerView(p.name(), p.trustDomain(), p.bundleEndpointUrl(), p.sync(),
                                p.bundlePem(), new ProbeView(Optional.of("10.0.0.2:15443"), false, Optional.empty(),
                                        Optional.of("10.0.0.2:15443: connection refused (nothing listens there)"), 1, NOW),
                                p.clock()))),
                row("a peer's last poll failed", "peer-bundle", "the last poll failed: connection refused",
                        in -> peer(in, p -> withSync(p, StatusFixture.sync(Optional.of("connection refused"),
                                Optional.of("fetch-failed"), false)))),
                row("a stale peer bundle", "peer-bundle", "STALE",
                        in -> peer(in, p -> withSync(p, StatusFixture.sync(Optional.of("timeout"),
                                Optional.of("fetch-failed"), true)))),
                row("a peer endpoint serving another trust domain's bundle", "peer-bundle",
                        "refused (invalid-authority): bundle of beta.acme.internal, sequence 1: CA",
                        in -> peer(in, p -> withSync(p, StatusFixture.sync(Optional.of("bundle of beta.acme.internal,"
                                + " sequence 1: CA gamma permits gamma.acme.internal"), Optional.of("invalid-authority"),
                                false)))),
                row("a peer bundle whose sequence went backwards", "peer-bundle", "its sequence did not advance",
                        in -> peer(in, p -> withSync(p, StatusFixture.sync(Optional.of("sequence 2 older than 4"),
                                Optional.of("sequence-went-backwards"), false)))),
                row("a held peer bundle with a CA of another trust domain", "peer-ca", "gamma.acme.internal",
                        in -> peer(in, p -> new PeerView(p.name(), p.trustDomain(), p.bundleEndpointUrl(), p.sync(),
                                StatusFixture.pems(GAMMA.chain()), p.ingress(), p.clock()))),
                row("a peer CA two days from expiry", "ca-expiry", "expires in (1 d 23|2 d 0) h",
                        in -> peer(in, p -> new PeerView(p.name(), p.trustDomain(), p.bundleEndpointUrl(), p.sync(),
                                StatusFixture.pems(PKI.intermediate("beta.acme.internal", Duration.ofDays(2)).chain()),
                                p.ingress(), p.clock()))),
                row("a partitioned bridge", "bridge", "site beta (beta.acme.internal) is not connected",
                        in -> status(in, s -> new FederationStatus(s.cluster(), s.trustDomain(), s.time(), s.version(),
                                s.self(), s.peers(), s.authorities(), StatusFixture.registry(false, List.of()),
                                s.policySources(), s.recentDenials()))),
                row("stale registry entries", "stale-entries", "1 entry of beta not routed to",
                        in -> status(in, s -> new FederationStatus(s.cluster(), s.trustDomain(), s.time(), s.version(),
                                s.self(), s.peers(), s.authorities(), StatusFixture.registry(true, List.of(new ExportRow(
                                        "beta", "payments.billing.svc.clusterset.local", 1, NOW.minusSeconds(40), 15,
                                        true, false))), s.policySources(), s.recentDenials()))),
                row("an intermediate two days from expiry", "ca-expiry", "intermediate",
                        in -> self(in, StatusFixture.self(PKI.intermediate("alpha.acme.internal", Duration.ofDays(2))
                                .chain(), List.of(), List.of()))),
                row("the metric says the intermediate has a day left", "ca-expiry", "expires in 1 d 0 h",
                        in -> new CheckInput(in.status(), Map.of("intermediate", Duration.ofHours(24).plusMinutes(5)),
                                in.ownBundle(), in.roots(), in.rootsSource(), in.rootsGiven(), in.thresholds())),
                row("an intermediate another root signed", "ca-chain", "not-from-federation-root|issuer",
                        in -> self(in, StatusFixture.self(TestCa.create().intermediate("alpha.acme.internal").chain(),
                                List.of(), List.of()))),
                row("a gateway SVID whose renewal fails", "svid-expiry", "renewal is failing",
                        in -> self(in, new io.isthmus.gateway.status.SelfView(in.status().self().rootsPem(),
                                in.status().self().intermediateChainPem(), new SvidView("spiffe://alpha.acme.internal/x",
                                "0b", NOW.minus(Duration.ofMinutes(55)), NOW.plus(Duration.ofMinutes(5))), 3,
                                "0.0.0.0:8443", List.of(), List.of(), "merge-slashes"))),
                row("a policy file with a syntax error", "policy", "the latest load was refused",
                        in -> status(in, s -> new FederationStatus(s.cluster(), s.trustDomain(), s.time(), s.version(),
                                s.self(), s.peers(), s.authorities(), s.registry(), List.of(new PolicySourceView("file",
                                        2, Optional.of(NOW.minusSeconds(300)), Optional.of(NOW.minusSeconds(1)), List.of(
                                                "policies.yaml: line 4: mapping values are not allowed here"))),
                                s.recentDenials()))),
                row("no policy source", "policy", "every federated call is denied",
                        in -> status(in, s -> new FederationStatus(s.cluster(), s.trustDomain(), s.time(), s.version(),
                                s.self(), s.peers(), s.authorities(), s.registry(), List.of(), s.recentDenials()))),
                row("a peer clock 20 s ahead", "clock-skew", "beta's clock is 20.00 s ahead of this gateway's",
                        in -> peer(in, p -> withClock(p, StatusFixture.clock(20_000, 3)))),
                row("a peer clock 9 s behind", "clock-skew", "9.00 s behind",
                        in -> peer(in, p -> withClock(p, StatusFixture.clock(-9_000, 3)))),
                row("a peer clock that cannot be read", "clock-skew", "cannot read beta's clock",
                        in -> peer(in, p -> withClock(p, new ClockView(Optional.empty(), 0,
                                Optional.of("connection refused"), NOW)))),
                row("a secret readable by everyone", "file-permissions", "every user on the host can read it",
                        in -> self(in, StatusFixture.self(StatusFixture.ALPHA.chain(), List.of(),
                                List.of(StatusFixture.file("isthmus.ca.intermediate-key", true, "rw-r--r--"))))),
                row("a root file others may write", "file-permissions", "can replace what the gateway trusts",
                        in -> self(in, StatusFixture.self(StatusFixture.ALPHA.chain(), List.of(),
                                List.of(StatusFixture.file("isthmus.ca.root-certificates", false, "rw-rw-rw-"))))),
                row("a configuration inconsistency", "configuration", "isthmus.peers.beta.trust-domain",
                        in -> self(in, StatusFixture.self(StatusFixture.ALPHA.chain(), List.of(
                                "isthmus.peers.beta.trust-domain is b but isthmus.registry.peers.beta.trust-domain is c:"
                                        + " make them equal"), List.of()))),
                // Against other roots nothing chains: the roots line says why the chain lines fail.
                row("roots other than the operator's", "federation-roots|ca-chain|peer-ca", "holds|not signed by",
                        in -> new CheckInput(in.status(), in.certExpiry(), in.ownBundle(),
                                List.of(TestCa.create().rootCertificate()), "--root-ca other.pem", true, in.thresholds())),
                row("a bundle endpoint serving a bundle without the intermediate", "bundle-endpoint",
                        "lacks the intermediate",
                        in -> new CheckInput(in.status(), in.certExpiry(), CheckInput.OwnBundle.served("https://x/",
                                new TrustBundle(TrustDomain.parse("alpha.acme.internal"),
                                        List.of(PKI.intermediate("alpha.acme.internal").certificate()), List.of(), 3,
                                        Optional.empty())), in.roots(), in.rootsSource(), true, in.thresholds())),
                row("a bundle endpoint that does not answer", "bundle-endpoint", "connection refused",
                        in -> new CheckInput(in.status(), in.certExpiry(), CheckInput.OwnBundle.failed("https://x/",
                                "cannot fetch: connection refused"), in.roots(), in.rootsSource(), true, in.thresholds())));
    }

    private static Arguments row(String name, String check, String cause, UnaryOperator<CheckInput> breakIt) {
        return Arguments.of(name, check, cause, breakIt);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenFacts")
    void eachBrokenFactFailsItsCheckNamingTheCause(String name, String check, String cause,
            UnaryOperator<CheckInput> breakIt) {
        List<CheckResult> results = FederationChecks.run(breakIt.apply(input(healthy())));
        List<CheckResult> failed = results.stream().filter(r -> !r.ok()).toList();
        assertThat(failed).as("failed checks for %s", name).isNotEmpty()
                .anySatisfy(r -> {
                    assertThat(r.check()).isEqualTo(check.split("\\|")[0]);
                    assertThat(r.cause()).containsPattern(cause.contains("|") ? cause
                            : java.util.regex.Pattern.quote(cause));
                    assertThat(r.fix()).isNotBlank();
                });
        assertThat(failed).as("only %s fails for %s", check, name)
                .allSatisfy(r -> assertThat(r.check()).isIn((Object[]) check.split("\\|")));
        assertThat(CheckReport.allPassed(results)).isFalse();
        assertThat(CheckReport.text("h", results)).contains("✗ " + check.split("\\|")[0]).contains("fix: ");
    }

    @Test
    void aRetiringPeerCaNextToItsSuccessorIsNoProblem() {
        List<java.security.cert.X509Certificate> rotating = List.of(
                PKI.intermediate("beta.acme.internal", Duration.ofDays(2)).certificate(),
                PKI.intermediate("beta.acme.internal", Duration.ofDays(30)).certificate());
        CheckInput in = peer(input(healthy()), p -> new PeerView(p.name(), p.trustDomain(), p.bundleEndpointUrl(),
                p.sync(), StatusFixture.pems(rotating), p.ingress(), p.clock()));
        assertThat(FederationChecks.run(in)).allSatisfy(r -> assertThat(r.ok()).as("%s", r).isTrue());
    }

    @Test
    void aClockOffsetWithinTheReadingsUncertaintyIsNotBlamed() {
        CheckInput in = peer(input(healthy()), p -> withClock(p, StatusFixture.clock(6_500, 2_000)));
        assertThat(FederationChecks.run(in)).filteredOn(r -> r.check().equals("clock-skew"))
                .singleElement().satisfies(r -> assertThat(r.ok()).isTrue());
    }

    @Test
    void withoutTheOperatorsRootsTheCheckSaysItTookTheGatewaysWord() {
        CheckInput given = input(healthy());
        CheckInput taken = new CheckInput(given.status(), given.certExpiry(), given.ownBundle(), given.roots(),
                "the roots the gateway reports", false, given.thresholds());
        assertThat(FederationChecks.run(taken)).filteredOn(r -> r.check().equals("federation-roots")).singleElement()
                .satisfies(r -> assertThat(r.cause()).contains("pass --root-ca"));
    }

    @Test
    void jsonOutputCarriesEveryLine() throws Exception {
        List<CheckResult> results = FederationChecks.run(peer(input(healthy()),
                p -> withClock(p, StatusFixture.clock(20_000, 3))));
        var doc = io.isthmus.gateway.status.StatusJson.mapper().readTree(CheckReport.json("http://gw:8080", results));
        assertThat(doc.path("ok").asBoolean()).isFalse();
        assertThat(doc.path("checks").size()).isEqualTo(results.size());
        assertThat(doc.path("checks").findValuesAsText("check")).contains("clock-skew");
    }

    // -- one fact at a time

    private static CheckInput status(CheckInput in, UnaryOperator<FederationStatus> change) {
        return new CheckInput(change.apply(in.status()), in.certExpiry(), in.ownBundle(), in.roots(), in.rootsSource(),
                in.rootsGiven(), in.thresholds());
    }

    private static CheckInput peer(CheckInput in, UnaryOperator<PeerView> change) {
        return status(in, s -> new FederationStatus(s.cluster(), s.trustDomain(), s.time(), s.version(), s.self(),
                s.peers().stream().map(change).toList(), s.authorities(), s.registry(), s.policySources(),
                s.recentDenials()));
    }

    private static CheckInput self(CheckInput in, io.isthmus.gateway.status.SelfView self) {
        CheckInput changed = status(in, s -> new FederationStatus(s.cluster(), s.trustDomain(), s.time(), s.version(),
                self, s.peers(), s.authorities(), s.registry(), s.policySources(), s.recentDenials()));
        // The gateway's bundle endpoint serves whatever intermediate it signs with.
        return new CheckInput(changed.status(), in.certExpiry(), CheckInput.OwnBundle.served("https://127.0.0.1:8443/",
                new TrustBundle(TrustDomain.parse("alpha.acme.internal"), TrustChecks.certificates(
                        self.intermediateChainPem(), "test").subList(0, 1), List.of(), 3, Optional.empty())),
                in.roots(), in.rootsSource(), in.rootsGiven(), in.thresholds());
    }

    private static PeerView withSync(PeerView p, io.isthmus.gateway.status.SyncView sync) {
        return new PeerView(p.name(), p.trustDomain(), p.bundleEndpointUrl(), sync, p.bundlePem(), p.ingress(), p.clock());
    }

    private static PeerView withClock(PeerView p, ClockView clock) {
        return new PeerView(p.name(), p.trustDomain(), p.bundleEndpointUrl(), p.sync(), p.bundlePem(), p.ingress(), clock);
    }
}
