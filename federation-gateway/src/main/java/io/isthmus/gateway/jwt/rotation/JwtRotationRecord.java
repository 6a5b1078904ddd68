package io.isthmus.gateway.jwt.rotation;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Objects;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.trust.spiffe.TrustDomain;

/**
 * The JWT rotation step the cluster was last asked to take: every replica applies it to its own key ring
 * ({@link RotationPlan}). {@code generation} grows by one with every recorded step, so a replica knows which steps it
 * has applied; {@code keyGeneration} names the {@code prepare} step whose keys an {@code activate} or {@code retire}
 * makes (or keeps) active, so a replica that missed that prepare knows it must first make a key of its own.
 * {@code requestedBy} is the admin principal, {@code replica} the replica that answered the call.
 */
public record JwtRotationRecord(TrustDomain trustDomain, long generation, Step step, long keyGeneration,
        String requestedBy, Instant requestedAt, String replica) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public enum Step {
        PREPARE("prepare"), ACTIVATE("activate"), RETIRE("retire");

        private final String label;

        Step(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        public static Step parse(String label) {
            for (Step s : values()) {
                if (s.label.equals(label)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("'step' is '" + label + "', expected prepare, activate or retire");
        }
    }

    public JwtRotationRecord {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(step, "step");
        Objects.requireNonNull(requestedAt, "requestedAt");
        if (generation < 1) {
            throw new IllegalArgumentException("'generation' is " + generation + ", expected 1 or more");
        }
        if (keyGeneration < 0 || keyGeneration > generation) {
            throw new IllegalArgumentException("'key_generation' is " + keyGeneration + ", expected 0 to the "
                    + "generation " + generation);
        }
        if (step == Step.PREPARE && keyGeneration != generation) {
            throw new IllegalArgumentException("a prepare step makes the keys of its own generation " + generation
                    + ", not of " + keyGeneration);
        }
        if (requestedBy == null || requestedBy.isBlank() || replica == null || replica.isBlank()) {
            throw new IllegalArgumentException("a rotation record names who asked and the replica that answered");
        }
    }

    public String toJson() {
        ObjectNode n = JSON.createObjectNode().put("trust_domain", trustDomain.name()).put("generation", generation)
                .put("step", step.label()).put("key_generation", keyGeneration).put("requested_by", requestedBy)
                .put("requested_at", requestedAt.toString()).put("replica", replica);
        return n.toString();
    }

    /** @throws IllegalArgumentException naming the member that is missing or wrong */
    public static JwtRotationRecord parse(String json) {
        JsonNode n;
        try {
            n = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException("expected a JSON object, got " + json);
        }
        try {
            return new JwtRotationRecord(TrustDomain.parse(text(n, "trust_domain")), number(n, "generation"),
                    Step.parse(text(n, "step")), number(n, "key_generation"), text(n, "requested_by"),
                    Instant.parse(text(n, "requested_at")), text(n, "replica"));
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("'requested_at' is not an ISO-8601 instant: " + e.getParsedString());
        }
    }

    private static String text(JsonNode n, String field) {
        if (!n.path(field).isTextual()) {
            throw new IllegalArgumentException("'" + field + "' must be a string, got " + n.get(field));
        }
        return n.get(field).asText();
    }

    private static long number(JsonNode n, String field) {
        if (!n.path(field).canConvertToExactIntegral() || !n.path(field).isIntegralNumber()) {
            throw new IllegalArgumentException("'" + field + "' must be an integer, got " + n.get(field));
        }
        return n.get(field).asLong();
    }
}
