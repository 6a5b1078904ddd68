package io.isthmus.gateway.enrolment;

import java.time.DateTimeException;
import java.time.Instant;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.trust.spiffe.SpiffeId;

/**
 * The replicated caches hold JSON strings, not Java objects: strings need no marshaller schema on the wire and stay
 * readable across versions of this code. What another replica or a persisted file hands back is read strictly:
 * anything but an entry this class writes is a {@link CorruptEntryException}. Pure; thread-safe.
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

    /** @throws CorruptEntryException naming the field that is missing, of the wrong type or not a valid value */
    static JoinToken readToken(String json) {
        JsonNode n = tree(json);
        try {
            return new JoinToken(text(n, "id"), SpiffeId.parse(text(n, "identity")), text(n, "secretHash"),
                    Instant.parse(text(n, "createdAt")), Instant.parse(text(n, "expiresAt")), integer(n, "maxUses"),
                    integer(n, "uses"), bool(n, "revoked"));
        } catch (IllegalArgumentException | DateTimeException e) {
            // The value checks of SpiffeId, Instant and JoinToken itself: an entry this version never writes.
            throw new CorruptEntryException("corrupt join token entry: " + e.getMessage(), e);
        }
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

    /** @throws CorruptEntryException naming the field that is missing, of the wrong type or not a valid value */
    static VmIdentity readIdentity(String json) {
        JsonNode n = tree(json);
        try {
            return new VmIdentity(SpiffeId.parse(text(n, "id")), VmIdentity.State.valueOf(text(n, "state")),
                    optional(n, "enrolledAt").map(Instant::parse), optional(n, "revokedAt").map(Instant::parse),
                    optional(n, "revokeReason"));
        } catch (IllegalArgumentException | DateTimeException e) {
            throw new CorruptEntryException("corrupt VM identity entry: " + e.getMessage(), e);
        }
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw new CorruptEntryException("corrupt enrolment cache entry: field '" + field + "' is "
                    + (v == null ? "missing" : "not a string"), null);
        }
        return v.asText();
    }

    private static Optional<String> optional(JsonNode n, String field) {
        return n.hasNonNull(field) ? Optional.of(text(n, field)) : Optional.empty();
    }

    private static int integer(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new CorruptEntryException("corrupt enrolment cache entry: field '" + field + "' is not an integer", null);
        }
        return v.asInt();
    }

    private static boolean bool(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isBoolean()) {
            throw new CorruptEntryException("corrupt enrolment cache entry: field '" + field + "' is not a boolean", null);
        }
        return v.asBoolean();
    }

    private static JsonNode tree(String json) {
        JsonNode n;
        try {
            n = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new CorruptEntryException("corrupt enrolment cache entry: " + e.getOriginalMessage(), e);
        }
        if (n == null || !n.isObject()) {
            throw new CorruptEntryException("corrupt enrolment cache entry: not a JSON object", null);
        }
        return n;
    }
}
