package io.isthmus.trust.rotation;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.FederationRoots;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.status.PeerReport;
import io.isthmus.trust.status.PeerStatusSource;
import io.isthmus.trust.status.TrustStatus;
import io.isthmus.trust.x509.Certificates;

/** Peers whose answers a test sets: each holds a given bundle of ours, or does not answer. Records how often it was asked. */
final class FakePeers implements PeerStatusSource {
    private final Clock clock;
    private final FederationRoots roots;
    private final TrustDomain ours;
    private final Map<String, Optional<TrustBundle>> held = new LinkedHashMap<>();
    final AtomicInteger asked = new AtomicInteger();

    FakePeers(Clock clock, FederationRoots roots, TrustDomain ours) {
        this.clock = clock;
        this.roots = roots;
        this.ours = ours;
    }

    /** Peer {@code name} holds {@code bundle} of ours (empty: it does not answer). */
    void holds(String name, Optional<TrustBundle> bundle) {
        held.put(name, bundle);
    }

    @Override
    public List<PeerReport> fetchAll(Duration timeout) {
        asked.incrementAndGet();
        List<PeerReport> out = new ArrayList<>();
        held.forEach((name, bundle) -> {
            TrustDomain td = new TrustDomain(name + ".acme.internal");
            if (bundle.isEmpty()) {
                out.add(new PeerReport.Unavailable(name, td, "connection refused"));
                return;
            }
            TrustBundle b = bundle.get();
            TrustStatus status = new TrustStatus(td, clock.instant(),
                    roots.certificates().stream().map(TrustStatus.RootInfo::of).toList(),
                    Map.of(ours, new TrustStatus.HeldBundle(b.sequence(),
                            b.x509Authorities().stream().map(Certificates::serialHex).toList(), Optional.empty())),
                    TrustStatus.AuthorityInfo.of(roots.certificates().get(0)),
                    new TrustStatus.RotationSummary("idle", "idle", Optional.empty(), Optional.empty()));
            out.add(new PeerReport.Reported(name, td, status));
        });
        return out;
    }
}
