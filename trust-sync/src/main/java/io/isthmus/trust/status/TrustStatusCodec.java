package io.isthmus.trust.status;

import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.text.Printable;

/**
 * {@link TrustStatus} as JSON (served at {@code GET /v1/trust-status} next to the bundle endpoint). Reading is all or
 * nothing: a document that misses a field or has one of the wrong type yields an {@link IllegalArgumentException}
 * naming it. Thread-safe.
 */
public final class TrustStatusCodec {
    /** A status is a few KiB; this bounds what a peer's answer may cost us. */
    public static final int MAX_BYTES = 256 * 1024;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    public String toJson(TrustStatus s) {
        return toTree(s).toString();
    }

    public ObjectNode toTree(TrustStatus s) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("trustDomain", s.trustDomain().name());
        root.put("at", s.at().toString());
        ArrayNode roots = root.putArray("roots");
        for (TrustStatus.RootInfo r : s.roots()) {
            roots.addObject().put("sha256", r.sha256()).put("serial", r.serial()).put("subject", r.subject())
                    .put("notAfter", r.notAfter().toString());
        }
        ObjectNode bundles = root.putObject("bundles");
        s.bundles().forEach((td, b) -> {
            ObjectNode n = bundles.putObject(td.name()).put("sequence", b.sequence());
            ArrayNode serials = n.putArray("x509Authorities");
            b.x509Serials().forEach(serials::add);
            b.lastError().ifPresent(e -> n.put("lastError", e));
        });
        root.putObject("intermediate").put("serial", s.intermediate().serial())
                .put("notBefore", s.intermediate().notBefore().toString())
                .put("notAfter", s.intermediate().notAfter().toString());
        ObjectNode rotation = root.putObject("rotation").put("phase", s.rotation().phase()).put("step", s.rotation().step());
        s.rotation().nextSerial().ifPresent(n -> rotation.put("nextSerial", n));
        s.rotation().since().ifPresent(t -> rotation.put("since", t.toString()));
        return root;
    }

    /** @throws IllegalArgumentException naming the field that is missing or wrong */
    public TrustStatus parse(byte[] json, String source) {
        if (json.length > MAX_BYTES) {
            throw new IllegalArgumentException("trust status from " + source + " is larger than " + MAX_BYTES + " bytes");
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("trust status from " + source + " is not JSON: "
                    + Printable.escape(e.getMessage()), e);
        }
        try {
            List<TrustStatus.RootInfo> roots = new ArrayList<>();
            for (JsonNode r : array(root, "roots")) {
                roots.add(new TrustStatus.RootInfo(text(r, "sha256"), text(r, "serial"), text(r, "subject"),
                        instant(r, "notAfter")));
            }
            Map<TrustDomain, TrustStatus.HeldBundle> bundles = new LinkedHashMap<>();
            JsonNode b = object(root, "bundles");
            for (Iterator<Map.Entry<String, JsonNode>> it = b.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                List<String> serials = new ArrayList<>();
                for (JsonNode s : array(e.getValue(), "x509Authorities")) {
                    serials.add(Printable.escape(s.asText()));
                }
                JsonNode seq = e.getValue().get("sequence");
                if (seq == null || !seq.canConvertToLong()) {
                    throw new IllegalArgumentException("bundles." + e.getKey() + ".sequence is missing or not a number");
                }
                bundles.put(TrustDomain.parse(e.getKey()), new TrustStatus.HeldBundle(seq.asLong(), serials,
                        Optional.ofNullable(e.getValue().get("lastError")).map(JsonNode::asText)
                                .map(Printable::escape)));
            }
            JsonNode i = object(root, "intermediate");
            JsonNode r = object(root, "rotation");
            return new TrustStatus(TrustDomain.parse(text(root, "trustDomain")), instant(root, "at"), roots, bundles,
                    new TrustStatus.AuthorityInfo(text(i, "serial"), instant(i, "notBefore"), instant(i, "notAfter")),
                    new TrustStatus.RotationSummary(text(r, "phase"), text(r, "step"),
                            Optional.ofNullable(r.get("nextSerial")).map(JsonNode::asText).map(Printable::escape),
                            r.hasNonNull("since") ? Optional.of(instant(r, "since")) : Optional.empty()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("trust status from " + source + ": " + Printable.escape(e.getMessage()), e);
        }
    }

    private static JsonNode object(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isObject()) {
            throw new IllegalArgumentException("'" + field + "' is missing or not an object");
        }
        return v;
    }

    private static JsonNode array(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isArray()) {
            throw new IllegalArgumentException("'" + field + "' is missing or not an array");
        }
        return v;
    }

    /** A peer's string, escaped: these reach the log, the admin API's answers and the CLI ({@link Printable}). */
    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException("'" + field + "' is missing or not a string");
        }
        return Printable.escape(v.asText());
    }

    private static Instant instant(JsonNode n, String field) {
        String t = text(n, field);
        try {
            return Instant.parse(t);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("'" + field + "' is not an ISO-8601 instant: " + t);
        }
    }
}
