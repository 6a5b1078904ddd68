package io.isthmus.trust.rotation;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.status.PeerReport;
import io.isthmus.trust.status.TrustStatus;

/**
 * Which peers hold a CA of ours, from what they report: a peer holds it when the bundle it holds for our trust domain
 * lists the CA's serial. Anything else (an older bundle, a refused newer one, no answer) counts as not holding it,
 * with the reason. Pure.
 *
 * @param holding peer names that hold the CA
 * @param missing peer name to why it does not (or might not) hold the CA
 */
public record PeerCoverage(List<String> holding, Map<String, String> missing) {

    public PeerCoverage {
        holding = List.copyOf(holding);
        missing = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(missing));
    }

    public boolean complete() {
        return missing.isEmpty();
    }

    public static PeerCoverage of(TrustDomain ours, String caSerial, long publishedSequence, List<PeerReport> reports) {
        List<String> holding = new ArrayList<>();
        Map<String, String> missing = new LinkedHashMap<>();
        for (PeerReport report : reports) {
            switch (report) {
                case PeerReport.Unavailable u -> missing.put(u.peer(), "no status: " + u.reason());
                case PeerReport.Reported r -> {
                    TrustStatus.HeldBundle held = r.status().bundles().get(ours);
                    if (held == null) {
                        missing.put(r.peer(), "holds no bundle of " + ours + " yet");
                    } else if (held.holds(caSerial)) {
                        holding.add(r.peer());
                    } else {
                        missing.put(r.peer(), "holds bundle sequence " + held.sequence() + " of " + ours
                                + " without CA serial " + caSerial + " (published in sequence " + publishedSequence + ")"
                                + held.lastError().map(e -> "; it refused our newer bundle: " + e).orElse(""));
                    }
                }
            }
        }
        return new PeerCoverage(holding, missing);
    }

    /** {@code west (holds bundle sequence 12 ...), onprem (no status: ...)}. */
    public String describeMissing() {
        StringBuilder sb = new StringBuilder();
        missing.forEach((peer, why) -> sb.append(sb.isEmpty() ? "" : "; ").append(peer).append(": ").append(why));
        return sb.toString();
    }
}
