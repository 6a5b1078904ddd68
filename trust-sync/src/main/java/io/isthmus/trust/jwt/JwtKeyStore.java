package io.isthmus.trust.jwt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.trust.bundle.JwtAuthority;
import io.isthmus.trust.files.AtomicFiles;
import io.isthmus.trust.x509.Pem;

/**
 * Persists a {@link JwtKeyRing} as {@code <dir>/jwt-keys.json} (owner-only, written atomically), next to the CA
 * material, so a restarted gateway signs with the key its peers already hold. Not thread-safe: one owner.
 */
public final class JwtKeyStore {
    private final Path file;

    public JwtKeyStore(Path dir) {
        this.file = dir.resolve("jwt-keys.json");
    }

    public Path file() {
        return file;
    }

    public Optional<JwtKeyRing> load() throws IOException {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            JsonNode root = Jose.JSON.readTree(Files.readAllBytes(file));
            JwtSigningKey active = key(root.get("active"));
            Optional<JwtSigningKey> next = root.hasNonNull("next") ? Optional.of(key(root.get("next"))) : Optional.empty();
            List<JwtKeyRing.Retiring> retiring = new ArrayList<>();
            for (JsonNode r : root.path("retiring")) {
                retiring.add(new JwtKeyRing.Retiring(new JwtAuthority(r.get("kid").asText(), publicKey(r.get("public")
                        .asText())), Instant.parse(r.get("until").asText())));
            }
            return Optional.of(new JwtKeyRing(active, next, retiring));
        } catch (RuntimeException | GeneralSecurityException e) {
            throw new IOException(file + " is not a readable JWT key ring (" + e.getMessage() + "); restore it from a "
                    + "backup, or delete it to start with a new key (tokens signed by the old one stop verifying)", e);
        }
    }

    public void save(JwtKeyRing ring) throws IOException {
        ObjectNode root = Jose.JSON.createObjectNode();
        root.set("active", node(ring.active()));
        ring.next().ifPresent(k -> root.set("next", node(k)));
        var retiring = root.putArray("retiring");
        for (JwtKeyRing.Retiring r : ring.retiring()) {
            retiring.addObject().put("kid", r.authority().keyId())
                    .put("public", Base64.getEncoder().encodeToString(r.authority().publicKey().getEncoded()))
                    .put("until", r.until().toString());
        }
        Files.createDirectories(file.getParent());
        AtomicFiles.writePrivate(file, root.toPrettyString());
    }

    private static ObjectNode node(JwtSigningKey k) {
        return Jose.JSON.createObjectNode().put("kid", k.keyId())
                .put("public", Base64.getEncoder().encodeToString(k.keys().getPublic().getEncoded()))
                .put("private", Pem.writePrivateKey(k.keys().getPrivate()));
    }

    private JwtSigningKey key(JsonNode n) throws GeneralSecurityException {
        return new JwtSigningKey(n.get("kid").asText(), new KeyPair(publicKey(n.get("public").asText()),
                Pem.readPrivateKey(n.get("private").asText(), file.toString())));
    }

    private static PublicKey publicKey(String b64) throws GeneralSecurityException {
        return KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(b64)));
    }
}
