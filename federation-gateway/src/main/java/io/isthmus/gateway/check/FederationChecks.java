package io.isthmus.gateway.check;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import io.isthmus.gateway.status.FederationStatus;
import io.isthmus.gateway.status.PeerView;

/**
 * {@code isthmus check} over one gateway: walks the whole path in the order a call depends on it (configuration and
 * files, its own CA and bundle endpoint, each peer's bundle and CAs, the registry bridge and its entries, each peer's
 * ingress, the policy source, the peers' clocks) and returns one result per line. Pure: the same input gives the
 * same lines.
 */
public final class FederationChecks {
    private FederationChecks() {
    }

    public static List<CheckResult> run(CheckInput in) {
        FederationStatus s = in.status();
        Instant now = s.time();
        List<X509Certificate> roots = in.roots();
        List<CheckResult> results = new ArrayList<>(ConfigChecks.run(s.self()));
        results.addAll(TrustChecks.run(in));
        for (PeerView p : s.peers()) {
            results.add(PeerChecks.bundle(p, now));
            results.addAll(PeerChecks.authorities(p, roots, in, now));
        }
        results.addAll(RegistryChecks.bridges(s.registry(), now));
        results.addAll(RegistryChecks.stale(s.registry(), now));
        for (PeerView p : s.peers()) {
            results.add(PeerChecks.ingress(p));
        }
        results.addAll(PolicyChecks.run(s.policySources(), now));
        for (PeerView p : s.peers()) {
            results.add(PeerChecks.clock(p, in.thresholds()));
        }
        return results;
    }
}
