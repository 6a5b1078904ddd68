package io.isthmus.gateway.jwt.rotation;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Where one replica stands in the cluster's JWT rotation, as it tells the other replicas in its replicated key entry:
 * the last recorded step it has applied ({@code applied}, a generation), its keys by role, and, while it cannot apply
 * the recorded step yet, why ({@code pending}). Lets any replica answer an admin call for the whole cluster, and
 * decide the next step, without ever holding another replica's private key.
 */
public record ReplicaRotation(long applied, String active, Optional<String> next, List<Retiring> retiring,
        Optional<String> pending) {

    /** A key that no longer signs, published until {@code until} (its last token's expiry). */
    public record Retiring(String kid, Instant until) {
        public Retiring {
            Objects.requireNonNull(kid, "kid");
            Objects.requireNonNull(until, "until");
        }
    }

    public ReplicaRotation {
        if (applied < 0) {
            throw new IllegalArgumentException("'applied' is " + applied + ", expected 0 or more");
        }
        Objects.requireNonNull(active, "active");
        Objects.requireNonNull(next, "next");
        Objects.requireNonNull(pending, "pending");
        retiring = List.copyOf(retiring);
    }

    public ObjectNode toJson(ObjectNode n) {
        n.put("applied", applied).put("active", active);
        next.ifPresent(k -> n.put("next", k));
        var r = n.putArray("retiring");
        retiring.forEach(x -> r.addObject().put("kid", x.kid()).put("until", x.until().toString()));
        pending.ifPresent(p -> n.put("pending", p));
        return n;
    }

    /** @throws IllegalArgumentException naming the member that is missing or wrong */
    public static ReplicaRotation parse(JsonNode n) {
        if (n == null || !n.isObject() || !n.path("applied").isIntegralNumber() || !n.path("active").isTextual()) {
            throw new IllegalArgumentException("'rotation' must be an object with an integer 'applied' and a string "
                    + "'active', got " + n);
        }
        List<Retiring> retiring = new ArrayList<>();
        for (JsonNode r : n.path("retiring")) {
            if (!r.path("kid").isTextual() || !r.path("until").isTextual()) {
                throw new IllegalArgumentException("'rotation.retiring' entries need 'kid' and 'until', got " + r);
            }
            try {
                retiring.add(new Retiring(r.get("kid").asText(), Instant.parse(r.get("until").asText())));
            } catch (java.time.format.DateTimeParseException e) {
                throw new IllegalArgumentException("'rotation.retiring.until' is not an ISO-8601 instant: "
                        + r.get("until").asText());
            }
        }
        return new ReplicaRotation(n.get("applied").asLong(), n.get("active").asText(), optional(n, "next"), retiring,
                optional(n, "pending"));
    }

    private static Optional<String> optional(JsonNode n, String field) {
        return n.path(field).isTextual() ? Optional.of(n.get(field).asText()) : Optional.empty();
    }
}
