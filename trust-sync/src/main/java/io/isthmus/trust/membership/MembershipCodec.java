package io.isthmus.trust.membership;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.trust.spiffe.InvalidSpiffeIdException;
import io.isthmus.trust.spiffe.SpiffeId;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * The JSON form of a {@link Membership} (the payload of the signed document):
 * <pre>{@code
 * {"version": 4, "issuedAt": "2026-12-04T22:00:00Z", "members": [
 *   {"name": "east", "trustDomain": "east.acme.internal", "bundleEndpoint": "https://gw-east:8443/",
 *    "bridgeAddresses": ["gw-east:7900"], "ingressAddress": "gw-east:15443",
 *    "gatewayIds": ["spiffe://east.acme.internal/ns/isthmus-system/sa/isthmus-gateway"],
 *    "locality": {"region": "us-east-1", "zone": "us-east-1a"}}]}
 * }</pre>
 * Strict: an unknown field is refused (a newer writer's meaning must not be silently dropped by an older reader).
 * Pure; thread-safe.
 */
public final class MembershipCodec {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> TOP = Set.of("version", "issuedAt", "members");
    private static final Set<String> MEMBER = Set.of("name", "trustDomain", "bundleEndpoint", "bridgeAddresses",
            "ingressAddress", "gatewayIds", "locality");
    private static final Set<String> LOCALITY = Set.of("region", "zone");

    public String toJson(Membership m) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", m.version());
        root.put("issuedAt", m.issuedAt().toString());
        ArrayNode members = root.putArray("members");
        for (Member member : m.members()) {
            ObjectNode n = members.addObject();
            n.put("name", member.name());
            n.put("trustDomain", member.trustDomain().name());
            n.put("bundleEndpoint", member.bundleEndpoint().toString());
            ArrayNode bridges = n.putArray("bridgeAddresses");
            member.bridgeAddresses().forEach(b -> bridges.add(b.toString()));
            n.put("ingressAddress", member.ingressAddress().toString());
            ArrayNode ids = n.putArray("gatewayIds");
            member.gatewayIds().forEach(id -> ids.add(id.toString()));
            ObjectNode locality = n.putObject("locality");
            locality.put("region", member.region());
            locality.put("zone", member.zone());
        }
        try {
            return JSON.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @throws InvalidMembershipException with the broken rule */
    public Membership parse(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw malformed("the payload is not JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw malformed("the payload must be a JSON object with version, issuedAt and members");
        }
        onlyKnown(root, TOP, "the document");
        long version = requiredLong(root, "version");
        Instant issuedAt;
        try {
            issuedAt = Instant.parse(requiredText(root, "issuedAt", "the document"));
        } catch (DateTimeParseException e) {
            throw malformed("issuedAt '" + root.get("issuedAt").asText() + "' is not an ISO-8601 instant such as"
                    + " 2026-12-04T22:00:00Z");
        }
        JsonNode members = root.get("members");
        if (members == null || !members.isArray()) {
            throw malformed("members must be a JSON array of members");
        }
        List<Member> out = new ArrayList<>();
        int i = 0;
        for (JsonNode n : members) {
            out.add(member(n, "members[" + i++ + "]"));
        }
        return new Membership(version, issuedAt, out);
    }

    private static Member member(JsonNode n, String where) {
        if (!n.isObject()) {
            throw malformed(where + " must be a JSON object");
        }
        onlyKnown(n, MEMBER, where);
        String name = requiredText(n, "name", where);
        String at = where + " (" + name + ")";
        TrustDomain td;
        try {
            td = TrustDomain.parse(requiredText(n, "trustDomain", at));
        } catch (InvalidSpiffeIdException e) {
            throw malformed(at + ".trustDomain: " + e.getMessage());
        }
        URI endpoint;
        try {
            endpoint = new URI(requiredText(n, "bundleEndpoint", at));
        } catch (URISyntaxException e) {
            throw malformed(at + ".bundleEndpoint: " + e.getMessage());
        }
        List<HostPort> bridges = new ArrayList<>();
        for (String b : textArray(n, "bridgeAddresses", at)) {
            bridges.add(HostPort.parse(b));
        }
        HostPort ingress = HostPort.parse(requiredText(n, "ingressAddress", at));
        List<SpiffeId> ids = new ArrayList<>();
        for (String id : textArray(n, "gatewayIds", at)) {
            try {
                ids.add(SpiffeId.parse(id));
            } catch (InvalidSpiffeIdException e) {
                throw malformed(at + ".gatewayIds: " + e.getMessage());
            }
        }
        String region = "";
        String zone = "";
        JsonNode locality = n.get("locality");
        if (locality != null && !locality.isNull()) {
            if (!locality.isObject()) {
                throw malformed(at + ".locality must be an object with region and zone");
            }
            onlyKnown(locality, LOCALITY, at + ".locality");
            region = locality.path("region").asText("");
            zone = locality.path("zone").asText("");
        }
        return new Member(name, td, endpoint, bridges, ingress, ids, region, zone);
    }

    private static void onlyKnown(JsonNode n, Set<String> known, String where) {
        for (Iterator<String> it = n.fieldNames(); it.hasNext();) {
            String f = it.next();
            if (!known.contains(f)) {
                throw malformed(where + " has an unknown field '" + f + "'; known fields: " + known);
            }
        }
    }

    private static long requiredLong(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong()) {
            throw malformed(field + " must be an integer, got " + v);
        }
        return v.asLong();
    }

    private static String requiredText(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual() || v.asText().isBlank()) {
            throw malformed(where + "." + field + " must be a non-empty string, got " + v);
        }
        return v.asText();
    }

    private static List<String> textArray(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return List.of();
        }
        if (!v.isArray()) {
            throw malformed(where + "." + field + " must be an array of strings, got " + v);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual()) {
                throw malformed(where + "." + field + " must contain only strings, got " + e);
            }
            out.add(e.asText());
        }
        return out;
    }

    private static InvalidMembershipException malformed(String message) {
        return new InvalidMembershipException(MembershipRefusal.MALFORMED, message);
    }
}
