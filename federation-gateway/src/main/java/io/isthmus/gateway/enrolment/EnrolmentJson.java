package io.isthmus.gateway.enrolment;

import java.time.Instant;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.trust.spiffe.SpiffeId;

/**
 * The replicated caches hold JSON strings, not Java objects: strings need no marshaller schema on the wire and stay
 * readable across versions of this code. Pure; thread-safe.
 */
final class EnrolmentJson {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private EnrolmentJson() {
    }

    static String write(JoinToken t) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("id", t.id());
        n.put("identity", t.identity().toString());
        n.put("secretHash", t.secretHash());
        n.put("createdAt", t.createdAt().toString());
        n.put("expiresAt", t.expiresAt().toString());
        n.put("maxUses", t.maxUses());
        n.put("uses", t.uses());
        n.put("revoked", t.revoked());
        return n.toString();
    }

    static JoinToken readToken(String json) {
        JsonNode n = tree(json);
        return new JoinToken(n.path("id").asText(), SpiffeId.parse(n.path("identity").asText()),
                n.path("secretHash").asText(), Instant.parse(n.path("createdAt").asText()),
                Instant.parse(n.path("expiresAt").asText()), n.path("maxUses").asInt(), n.path("uses").asInt(),
                n.path("revoked").asBoolean());
    }

    static String write(VmIdentity v) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("id", v.id().toString());
        n.put("state", v.state().name());
        v.enrolledAt().ifPresent(t -> n.put("enrolledAt", t.toString()));
        v.revokedAt().ifPresent(t -> n.put("revokedAt", t.toString()));
        v.revokeReason().ifPresent(r -> n.put("revokeReason", r));
        return n.toString();
    }

    static VmIdentity readIdentity(String json) {
        JsonNode n = tree(json);
        return new VmIdentity(SpiffeId.parse(n.path("id").asText()), VmIdentity.State.valueOf(n.path("state").asText()),
                instant(n, "enrolledAt"), instant(n, "revokedAt"),
                n.hasNonNull("revokeReason") ? Optional.of(n.get("revokeReason").asText()) : Optional.empty());
    }

    private static Optional<Instant> instant(JsonNode n, String field) {
        return n.hasNonNull(field) ? Optional.of(Instant.parse(n.get(field).asText())) : Optional.empty();
    }

    private static JsonNode tree(String json) {
        try {
            return MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("corrupt enrolment cache entry: " + e.getOriginalMessage(), e);
        }
    }
}
