package io.isthmus.gateway.check;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import io.isthmus.gateway.status.FederationStatus;
import io.isthmus.gateway.status.SvidView;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.AuthorityValidator;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.ca.InvalidAuthorityException;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.x509.Certificates;
import io.isthmus.trust.x509.Pem;

/** The gateway's own trust material: roots, intermediate chain, time left, and its bundle endpoint. Pure. */
final class TrustChecks {
    static final String ROOTS = "federation-roots";
    static final String CHAIN = "ca-chain";
    static final String EXPIRY = "ca-expiry";
    static final String SVID = "svid-expiry";
    static final String BUNDLE_ENDPOINT = "bundle-endpoint";

    private TrustChecks() {
    }

    static List<CheckResult> run(CheckInput in) {
        FederationStatus s = in.status();
        Instant now = s.time();
        List<CheckResult> results = new ArrayList<>();
        List<X509Certificate> configured = certificates(s.self().rootsPem(), "the gateway's configured roots");
        results.add(roots(in, configured));
        X509Certificate intermediate = certificates(s.self().intermediateChainPem(), "the gateway's intermediate").get(0);
        TrustDomain td = TrustDomain.parse(s.trustDomain());
        try {
            X509Certificate root = new AuthorityValidator(new FederationRoots(in.roots()), Duration.ZERO)
                    .validate(intermediate, td, now);
            results.add(CheckResult.pass(CHAIN, "", "intermediate " + Certificates.serialHex(intermediate)
                    + " chains to " + root.getSubjectX500Principal().getName() + " and may sign only " + td));
        } catch (InvalidAuthorityException e) {
            results.add(CheckResult.fail(CHAIN, "", e.getMessage(), "issue a new intermediate for " + td
                    + " from the federation root (isthmus ca issue-intermediate --trust-domain " + td + ") and"
                    + " install it as isthmus.ca.intermediate-chain / -key"));
        }
        results.add(caExpiry(in, "intermediate", intermediate, td.name(), now));
        for (X509Certificate root : configured) {
            results.add(caExpiry(in, "root", root, "federation", now));
        }
        results.add(svid(in, s.self().gatewaySvid(), now));
        results.add(bundleEndpoint(in, intermediate, td));
        return results;
    }

    private static CheckResult roots(CheckInput in, List<X509Certificate> configured) {
        if (!in.rootsGiven()) {
            return CheckResult.pass(ROOTS, "", configured.size() + " configured root(s); checked against them as the"
                    + " gateway reports them (pass --root-ca to check against your own copy)");
        }
        Set<X509Certificate> theirs = new HashSet<>(configured);
        Set<X509Certificate> ours = new HashSet<>(in.roots());
        if (theirs.equals(ours)) {
            return CheckResult.pass(ROOTS, "", "the gateway trusts exactly the roots in " + in.rootsSource());
        }
        return CheckResult.fail(ROOTS, "", "the gateway trusts " + describe(configured) + ", " + in.rootsSource()
                + " holds " + describe(in.roots()), "make isthmus.ca.root-certificates the federation's root file"
                + " (two roots only while the root rotates)");
    }

    private static String describe(List<X509Certificate> roots) {
        return roots.stream().map(r -> r.getSubjectX500Principal().getName() + " serial " + Certificates.serialHex(r))
                .toList().toString();
    }

    /** Time left on one CA: the gateway's metric for its own certificates when it exposes one, else the certificate. */
    static CheckResult caExpiry(CheckInput in, String kind, X509Certificate ca, String owner, Instant now) {
        String serial = Certificates.serialHex(ca);
        Duration left = kind.equals("peer-ca") ? Duration.between(now, ca.getNotAfter().toInstant())
                : Optional.ofNullable(in.certExpiry().get(kind + "/" + serial))
                        .or(() -> Optional.ofNullable(in.certExpiry().get(kind)))
                        .orElse(Duration.between(now, ca.getNotAfter().toInstant()));
        String subject = kind.equals("peer-ca") ? owner : kind;
        if (left.isNegative()) {
            return CheckResult.fail(EXPIRY, subject, kind + " " + Certificates.serialHex(ca) + " of " + owner
                    + " expired at " + ca.getNotAfter().toInstant(), fixFor(kind, owner));
        }
        if (left.compareTo(in.thresholds().caExpiry()) < 0) {
            return CheckResult.fail(EXPIRY, subject, kind + " " + Certificates.serialHex(ca) + " of " + owner
                    + " expires in " + Durations.human(left) + " (at " + ca.getNotAfter().toInstant() + "), less than "
                    + Durations.human(in.thresholds().caExpiry()), fixFor(kind, owner));
        }
        return CheckResult.pass(EXPIRY, subject, kind + " " + Certificates.serialHex(ca) + " of " + owner
                + " expires in " + Durations.human(left));
    }

    private static String fixFor(String kind, String owner) {
        return switch (kind) {
            case "root" -> "rotate the federation root: distribute the new root next to the old one, re-issue the"
                    + " intermediates, then retire the old root";
            case "peer-ca" -> "ask the operators of " + owner + " to rotate its intermediate";
            default -> "rotate this cluster's intermediate now: isthmus ca issue-intermediate --trust-domain " + owner
                    + ", install it, and keep the old one in the bundle until it expires";
        };
    }

    private static CheckResult svid(CheckInput in, SvidView svid, Instant now) {
        Duration lifetime = Duration.between(svid.notBefore(), svid.notAfter());
        Duration left = Optional.ofNullable(in.certExpiry().get("gateway-svid/" + svid.serial()))
                .or(() -> Optional.ofNullable(in.certExpiry().get("gateway-svid")))
                .orElse(Duration.between(now, svid.notAfter()));
        double fraction = lifetime.isZero() ? 0 : (double) left.toMillis() / lifetime.toMillis();
        if (left.isNegative() || fraction < in.thresholds().svidRemaining()) {
            return CheckResult.fail(SVID, "", "gateway SVID " + svid.spiffeId() + " (serial " + svid.serial() + ") has "
                    + (left.isNegative() ? "expired" : Durations.human(left) + " left of " + Durations.human(lifetime))
                    + ": it renews at half life, so renewal is failing",
                    "look for 'renewing the gateway SVID failed' in the gateway log; check the intermediate's validity"
                            + " and key");
        }
        return CheckResult.pass(SVID, "", "gateway SVID " + svid.spiffeId() + " has " + Durations.human(left)
                + " left of " + Durations.human(lifetime) + " (renews at half life)");
    }

    private static CheckResult bundleEndpoint(CheckInput in, X509Certificate intermediate, TrustDomain td) {
        CheckInput.OwnBundle served = in.ownBundle();
        if (served.error().isPresent()) {
            return CheckResult.fail(BUNDLE_ENDPOINT, served.url(), served.error().get(), "peers cannot refresh " + td
                    + "'s bundle from it: check isthmus.bundle-endpoint.host/port and that peers reach it");
        }
        TrustBundle b = served.bundle().get();
        if (!b.trustDomain().equals(td)) {
            return CheckResult.fail(BUNDLE_ENDPOINT, served.url(), "serves the bundle of " + b.trustDomain()
                    + ", not " + td, "point the check (--bundle-endpoint) or the endpoint at " + td + "'s gateway");
        }
        if (!b.containsAuthority(intermediate)) {
            return CheckResult.fail(BUNDLE_ENDPOINT, served.url(), "its bundle (sequence " + b.sequence()
                    + ") lacks the intermediate " + Certificates.serialHex(intermediate) + " this gateway signs with:"
                    + " peers will refuse its SVIDs", "restart the gateway so that it publishes its intermediate, and"
                    + " check that nothing else answers on the bundle endpoint's port");
        }
        long reported = in.status().self().bundleSequence();
        return CheckResult.pass(BUNDLE_ENDPOINT, served.url(), "serves " + td + "'s bundle, sequence " + b.sequence()
                + (b.sequence() == reported ? "" : " (status said " + reported + ")") + ", "
                + b.x509Authorities().size() + " CA(s) including the active intermediate");
    }

    static List<X509Certificate> certificates(List<String> pems, String what) {
        List<X509Certificate> out = new ArrayList<>();
        for (String pem : pems) {
            out.addAll(Pem.readCertificates(pem, what));
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(what + ": the status holds no certificate");
        }
        return out;
    }
}
