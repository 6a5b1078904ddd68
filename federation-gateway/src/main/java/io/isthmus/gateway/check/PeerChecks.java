package io.isthmus.gateway.check;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import io.isthmus.gateway.status.ClockView;
import io.isthmus.gateway.status.PeerView;
import io.isthmus.gateway.status.ProbeView;
import io.isthmus.gateway.status.SyncView;
import io.isthmus.trust.ca.AuthorityValidator;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.ca.InvalidAuthorityException;
import io.isthmus.trust.spiffe.TrustDomain;

/** Each peer as this gateway sees it: bundle sync, the peer's CAs, its ingress, its clock. Pure. */
final class PeerChecks {
    static final String BUNDLE = "peer-bundle";
    static final String CA = "peer-ca";
    static final String INGRESS = "peer-ingress";
    static final String CLOCK = "clock-skew";

    private PeerChecks() {
    }

    static CheckResult bundle(PeerView p, Instant now) {
        SyncView s = p.sync();
        String subject = p.name();
        String fix = "check that this gateway reaches " + p.bundleEndpointUrl() + " and that the gateway of "
                + p.trustDomain() + " answers there (isthmus.peers." + p.name() + ".bundle-endpoint-url)";
        if (s.sequence().isEmpty()) {
            return CheckResult.fail(BUNDLE, subject, "no bundle of " + p.trustDomain() + " yet"
                    + s.lastError().map(e -> ": " + e).orElse(""), fix);
        }
        String held = "holds sequence " + s.sequence().get() + s.lastSuccess()
                .map(t -> (s.loadedFromDisk() ? ", loaded from disk " : ", fetched ") + Durations.human(Duration.between(t, now)) + " ago")
                .orElse("");
        if (s.lastRejection().isPresent() && !s.lastRejection().get().equals("fetch-failed")) {
            String rejection = s.lastRejection().get();
            String why = switch (rejection) {
                case "sequence-went-backwards", "sequence-reused" -> "its sequence did not advance (" + rejection
                        + "): a replayed or rolled-back bundle";
                case "endpoint-not-authenticated" -> "its endpoint did not prove to be " + p.trustDomain();
                default -> "the last bundle it served was refused (" + rejection + ")";
            };
            return CheckResult.fail(BUNDLE, subject, why + ": " + s.lastError().orElse("") + "; " + held
                    + " (the last good one stays in force)", rejectionFix(rejection, p));
        }
        if (s.stale()) {
            return CheckResult.fail(BUNDLE, subject, "STALE: " + held + ", no successful poll for longer than the "
                    + s.intervalSeconds() + " s refresh interval allows" + s.lastError().map(e -> "; last error: " + e)
                    .orElse(""), fix);
        }
        if (s.lastError().isPresent()) {
            return CheckResult.fail(BUNDLE, subject, "the last poll failed: " + s.lastError().get() + "; " + held
                    + " (stale after a few " + s.intervalSeconds() + " s intervals)", fix);
        }
        return CheckResult.pass(BUNDLE, subject, held + ", polled every " + s.intervalSeconds() + " s");
    }

    private static String rejectionFix(String rejection, PeerView p) {
        return switch (rejection) {
            case "wrong-trust-domain", "invalid-authority", "no-authorities" -> "the endpoint at "
                    + p.bundleEndpointUrl() + " serves another trust domain's CAs: make it the bundle endpoint of "
                    + p.trustDomain() + "'s gateway, or fix isthmus.peers." + p.name() + ".bundle-endpoint-url";
            case "sequence-went-backwards", "sequence-reused" -> "find out why " + p.trustDomain() + " serves an older"
                    + " bundle (a restored backup, a second gateway with old state); never lower a bundle's sequence";
            case "endpoint-not-authenticated" -> "the endpoint must present an SVID of " + p.trustDomain()
                    + " that verifies against its bundle; fix isthmus.peers." + p.name() + ".bundle-endpoint-url";
            default -> "read the peer's bundle with: isthmus bundle show --trust-domain " + p.trustDomain()
                    + " --url " + p.bundleEndpointUrl() + " --root <federation root>";
        };
    }

    static List<CheckResult> authorities(PeerView p, List<X509Certificate> roots, CheckInput in, Instant now) {
        List<CheckResult> results = new ArrayList<>();
        if (p.bundlePem().isEmpty()) {
            return results;
        }
        TrustDomain td = TrustDomain.parse(p.trustDomain());
        AuthorityValidator validator = new AuthorityValidator(new FederationRoots(roots), Duration.ZERO);
        List<X509Certificate> cas = TrustChecks.certificates(p.bundlePem(), p.name() + "'s bundle");
        boolean allValid = true;
        for (X509Certificate ca : cas) {
            try {
                validator.validate(ca, td, now);
            } catch (InvalidAuthorityException e) {
                allValid = false;
                results.add(CheckResult.fail(CA, p.name(), e.getMessage(), "the bundle of " + td + " must hold only"
                        + " CAs issued by the federation root and name-constrained to " + td + "; ask its operators"));
            }
        }
        if (allValid) {
            results.add(CheckResult.pass(CA, p.name(), cas.size() + " CA(s) chain to the federation root and are"
                    + " name-constrained to " + td));
        }
        // A bundle keeps a retiring CA until it expires, next to its successor: only when even the last of them is
        // about to expire will nothing of the peer verify here.
        X509Certificate last = cas.stream().max(java.util.Comparator.comparing(X509Certificate::getNotAfter)).orElseThrow();
        CheckResult expiry = TrustChecks.caExpiry(in, "peer-ca", last, p.name(), now);
        if (!expiry.ok()) {
            results.add(expiry);
        }
        return results;
    }

    static CheckResult ingress(PeerView p) {
        ProbeView probe = p.ingress();
        if (probe.address().isEmpty()) {
            return CheckResult.pass(INGRESS, p.name(), "exports nothing, so no call goes to its ingress");
        }
        if (!probe.ok()) {
            return CheckResult.fail(INGRESS, p.name(), probe.error().orElse("probe failed"), "calls to " + p.name()
                    + "'s services fail over or fail: check that its gateway runs and that this gateway reaches "
                    + probe.address().get() + " (its isthmus.registry.ingress-address)");
        }
        return CheckResult.pass(INGRESS, p.name(), probe.address().get() + " proved to be " + probe.peerId().orElse("?")
                + " by mutual TLS (" + probe.millis() + " ms)");
    }

    static CheckResult clock(PeerView p, Thresholds t) {
        ClockView c = p.clock();
        if (c.offsetMillis().isEmpty()) {
            return CheckResult.fail(CLOCK, p.name(), "cannot read " + p.name() + "'s clock: " + c.error().orElse("?"),
                    "the clock is read from its bundle endpoint; fix its reachability first");
        }
        long offset = c.offsetMillis().get();
        String how = p.name() + "'s clock is " + String.format(java.util.Locale.ROOT, "%.2f s %s", Math.abs(offset) / 1000.0,
                offset >= 0 ? "ahead of" : "behind") + " this gateway's (±" + String.format(java.util.Locale.ROOT,
                "%.2f", c.uncertaintyMillis() / 1000.0) + " s)";
        if (Math.abs(offset) - c.uncertaintyMillis() > t.maxClockOffset().toMillis()) {
            return CheckResult.fail(CLOCK, p.name(), how + ", more than " + Durations.human(t.maxClockOffset())
                    + ": leases look expired or eternal, and beyond 30 s certificates are refused",
                    "synchronize both hosts' clocks (chrony or systemd-timesyncd against the same NTP servers)");
        }
        return CheckResult.pass(CLOCK, p.name(), how);
    }
}
