package io.isthmus.gateway.rotation;

import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.trust.rotation.PeerCoverage;
import io.isthmus.trust.rotation.RotationView;
import io.isthmus.trust.status.PeerReport;
import io.isthmus.trust.status.TrustStatus;
import io.isthmus.trust.status.TrustStatusCodec;

/** The admin API's JSON for rotations: this cluster's {@link RotationView} and what each peer reports. */
final class RotationJson {
    static final ObjectMapper MAPPER = new ObjectMapper();
    private static final TrustStatusCodec STATUS = new TrustStatusCodec();

    private RotationJson() {
    }

    static ObjectNode view(RotationView v) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("phase", v.phase().label()).put("step", v.phase().step());
        v.since().ifPresent(t -> n.put("since", t.toString()));
        ObjectNode reached = n.putObject("reached");
        v.reached().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                .forEach(e -> reached.put(e.getKey().label(), e.getValue().toString()));
        ArrayNode steps = n.putArray("stepDurations");
        v.stepDurations().forEach(steps::add);
        n.putObject("active").put("serial", v.active().serial()).put("notBefore", v.active().notBefore().toString())
                .put("notAfter", v.active().notAfter().toString()).put("remaining", v.activeRemaining());
        v.expiryWarning().ifPresent(w -> n.put("expiryWarning", w));
        v.nextSerial().ifPresent(s -> n.put("next", s));
        v.previousSerial().ifPresent(s -> n.put("previous", s));
        if (v.publishedSequence() > 0) {
            n.put("publishedSequence", v.publishedSequence());
        }
        v.retireAt().ifPresent(t -> n.put("retireAt", t.toString()));
        n.put("automatic", v.automatic());
        v.coverage().ifPresent(c -> n.set("coverage", coverage(c)));
        v.coverageAt().ifPresent(t -> n.put("coverageAt", t.toString()));
        v.lastError().ifPresent(e -> n.put("lastError", e));
        return n;
    }

    static ObjectNode coverage(PeerCoverage c) {
        ObjectNode n = MAPPER.createObjectNode();
        ArrayNode holding = n.putArray("holding");
        c.holding().forEach(holding::add);
        ObjectNode missing = n.putObject("missing");
        c.missing().forEach(missing::put);
        n.put("complete", c.complete());
        return n;
    }

    static ArrayNode peers(List<PeerReport> reports) {
        ArrayNode out = MAPPER.createArrayNode();
        for (PeerReport r : reports) {
            ObjectNode p = out.addObject().put("name", r.peer()).put("trustDomain", r.trustDomain().name());
            switch (r) {
                case PeerReport.Reported rep -> p.set("status", STATUS.toTree(rep.status()));
                case PeerReport.Unavailable u -> p.put("error", u.reason());
            }
        }
        return out;
    }

    static ObjectNode status(TrustStatus own) {
        return STATUS.toTree(own);
    }
}
