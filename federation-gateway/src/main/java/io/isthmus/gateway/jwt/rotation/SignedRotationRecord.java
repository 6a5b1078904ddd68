package io.isthmus.gateway.jwt.rotation;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECKey;
import java.security.interfaces.RSAKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.trust.svid.X509Svid;
import io.isthmus.trust.x509.Pem;

/**
 * A {@link JwtRotationRecord} as it travels on the replica channel: the record's JSON, signed with the X.509-SVID of
 * the replica that recorded it, and that SVID's chain. Anyone on the channel can write the cache; only a holder of
 * this cluster's gateway SVID can write a record that {@link RecordAdmission} lets a replica apply. The signature
 * algorithm follows the key (ECDSA or RSA with SHA-256), never a field of the message.
 */
public record SignedRotationRecord(String payload, List<X509Certificate> chain, byte[] signature) {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder UNB64 = Base64.getUrlDecoder();

    public SignedRotationRecord {
        chain = List.copyOf(chain);
        signature = signature.clone();
    }

    @Override
    public byte[] signature() {
        return signature.clone();
    }

    public static String sign(JwtRotationRecord record, X509Svid signer) {
        String payload = record.toJson();
        ObjectNode n = JSON.createObjectNode().put("payload", payload);
        var x5c = n.putArray("x5c");
        try {
            for (X509Certificate c : signer.chain()) {
                x5c.add(Base64.getEncoder().encodeToString(c.getEncoded()));
            }
            Signature s = Signature.getInstance(algorithm(signer.key()));
            s.initSign(signer.key());
            s.update(payload.getBytes(StandardCharsets.UTF_8));
            n.put("signature", B64.encodeToString(s.sign()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign the JWT rotation record with this replica's SVID: "
                    + e.getMessage(), e);
        }
        return n.toString();
    }

    /** @throws IllegalArgumentException naming what is missing or unreadable */
    public static SignedRotationRecord read(String json) {
        JsonNode n;
        try {
            n = JSON.readTree(json == null ? "" : json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject() || !n.path("payload").isTextual() || !n.path("x5c").isArray()
                || n.path("x5c").isEmpty() || !n.path("signature").isTextual()) {
            throw new IllegalArgumentException("expected an object with 'payload', a non-empty 'x5c' and 'signature'");
        }
        List<X509Certificate> chain = new ArrayList<>();
        for (JsonNode c : n.get("x5c")) {
            try {
                chain.add(Pem.toX509(Base64.getDecoder().decode(c.asText()), "the rotation record's x5c"));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("'x5c' holds something that is not a DER certificate in base64: "
                        + e.getMessage());
            }
        }
        try {
            return new SignedRotationRecord(n.get("payload").asText(), chain, UNB64.decode(n.get("signature").asText()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'signature' is not base64url: " + e.getMessage());
        }
    }

    /** Whether the signature over the payload verifies with the first certificate's key. */
    public boolean signatureValid() {
        PublicKey key = chain.get(0).getPublicKey();
        try {
            Signature s = Signature.getInstance(algorithm(key));
            s.initVerify(key);
            s.update(payload.getBytes(StandardCharsets.UTF_8));
            return s.verify(signature);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    private static String algorithm(java.security.Key key) {
        if (key instanceof ECKey) {
            return "SHA256withECDSA";
        }
        if (key instanceof RSAKey) {
            return "SHA256withRSA";
        }
        throw new IllegalArgumentException("a " + key.getAlgorithm() + " key cannot sign a rotation record");
    }
}
