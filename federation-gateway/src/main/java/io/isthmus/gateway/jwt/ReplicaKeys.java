package io.isthmus.gateway.jwt;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.gateway.jwt.rotation.ReplicaRotation;
import io.isthmus.trust.bundle.BundleCodec;
import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.spiffe.TrustDomain;

/**
 * One gateway replica's entry in the replicated JWT key cache: the PUBLIC keys its ring publishes and how long they
 * may be trusted without a refresh from it. Written as a JWK Set (the bundle codec's own format, so reading an entry
 * applies the bundle's rules) plus {@code replica}, {@code expires}
 * and {@code trust_domain}, and where the replica stands in the cluster's rotation ({@code rotation}, which the
 * replica answering an admin call reads). Private keys never enter this record.
 */
public record ReplicaKeys(String replica, List<JwtAuthority> keys, Instant expires, Optional<ReplicaRotation> rotation) {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final BundleCodec CODEC = new BundleCodec();

    public ReplicaKeys {
        Objects.requireNonNull(expires, "expires");
        Objects.requireNonNull(rotation, "rotation");
        keys = List.copyOf(keys);
        if (replica == null || replica.isBlank()) {
            throw new IllegalArgumentException("a replica's JWT keys need the replica's name");
        }
    }

    /** An entry that says nothing of the rotation (as a gateway from before cluster-wide steps wrote it). */
    public ReplicaKeys(String replica, List<JwtAuthority> keys, Instant expires) {
        this(replica, keys, expires, Optional.empty());
    }

    public String toJson(TrustDomain td) {
        return toJson(td, null);
    }

    /**
     * @param written when the replica wrote this entry (its own clock), which a merge after a partition compares
     *     ({@link NewestReplicaKeys}); null leaves it out
     */
    public String toJson(TrustDomain td, Instant written) {
        try {
            ObjectNode root = (ObjectNode) JSON.readTree(CODEC.toJson(new TrustBundle(td, List.of(), keys, 0,
                    Optional.empty())));
            root.put("replica", replica);
            root.put("expires", expires.toString());
            if (written != null) {
                root.put("written", written.toString());
            }
            // A JWK Set names no trust domain; the entry must, or a gateway of another domain on this channel could
            // slip its key into our bundle.
            root.put("trust_domain", td.name());
            rotation.ifPresent(r -> r.toJson(root.putObject("rotation")));
            return JSON.writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The entry as a JSON tree, for {@code replica} and {@code expires}; the keys go through the bundle codec. */
    static JsonNode readTree(String json) throws com.fasterxml.jackson.core.JsonProcessingException {
        return JSON.readTree(json);
    }

    static BundleCodec codec() {
        return CODEC;
    }
}
