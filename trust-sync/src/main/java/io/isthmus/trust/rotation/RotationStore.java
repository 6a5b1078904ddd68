package io.isthmus.trust.rotation;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.files.AtomicFiles;
import io.isthmus.trust.x509.Pem;

/**
 * The rotation's files under {@code <data-dir>/rotation/intermediate}: {@code state.json} (the {@link RotationState},
 * written last by every step), {@code next.key} (0600) and {@code next.csr} from {@code prepare}, {@code next.pem}
 * from {@code sign}, and {@code active.key}/{@code active.pem}: the signing credential once a rotation activated it.
 * Every file is replaced atomically and durably ({@link AtomicFiles}). Not thread-safe: its owner serializes calls.
 */
public final class RotationStore {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;

    public RotationStore(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    /** The persisted state; {@link RotationState#initial()} when there is none. */
    public RotationState load() throws IOException {
        Path file = dir.resolve("state.json");
        if (!Files.exists(file)) {
            return RotationState.initial();
        }
        try {
            return parse(JSON.readTree(Files.readAllBytes(file)));
        } catch (IOException | RuntimeException e) {
            throw new IOException("the rotation state " + file + " is unreadable (" + e.getMessage() + "); it is written "
                    + "atomically, so it was changed by hand: restore it, or remove the directory " + dir
                    + " to forget the rotation (the configured intermediate then signs again)", e);
        }
    }

    public void save(RotationState s) throws IOException {
        ObjectNode n = JSON.createObjectNode().put("phase", s.phase().label());
        s.nextSerial().ifPresent(v -> n.put("nextSerial", v));
        s.previousSerial().ifPresent(v -> n.put("previousSerial", v));
        s.activeSerial().ifPresent(v -> n.put("activeSerial", v));
        n.put("publishedSequence", s.publishedSequence());
        s.retireAt().ifPresent(v -> n.put("retireAt", v.toString()));
        n.put("automatic", s.automatic());
        ObjectNode reached = n.putObject("reached");
        s.reached().forEach((p, t) -> reached.put(p.label(), t.toString()));
        com.fasterxml.jackson.databind.node.ArrayNode used = n.putArray("usedSerials");
        s.usedSerials().forEach(used::add);
        AtomicFiles.write(dir.resolve("state.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n));
    }

    private static RotationState parse(JsonNode n) {
        Map<RotationPhase, Instant> reached = new EnumMap<>(RotationPhase.class);
        for (Iterator<Map.Entry<String, JsonNode>> it = n.path("reached").fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            reached.put(RotationPhase.parse(e.getKey()), Instant.parse(e.getValue().asText()));
        }
        List<String> used = new ArrayList<>();
        n.path("usedSerials").forEach(v -> used.add(v.asText()));
        return new RotationState(RotationPhase.parse(n.path("phase").asText(null)), text(n, "nextSerial"),
                text(n, "previousSerial"), text(n, "activeSerial"), n.path("publishedSequence").asLong(0),
                text(n, "retireAt").map(Instant::parse), n.path("automatic").asBoolean(false), reached, used);
    }

    private static Optional<String> text(JsonNode n, String field) {
        return n.hasNonNull(field) ? Optional.of(n.get(field).asText()) : Optional.empty();
    }

    public void writeNextKey(PrivateKey key, String csrPem) throws IOException {
        AtomicFiles.writePrivate(dir.resolve("next.key"), Pem.writePrivateKey(key));
        AtomicFiles.write(dir.resolve("next.csr"), csrPem);
    }

    public Optional<PrivateKey> nextKey() {
        Path f = dir.resolve("next.key");
        return Files.exists(f) ? Optional.of(Pem.readPrivateKey(f)) : Optional.empty();
    }

    public Optional<String> nextCsr() throws IOException {
        Path f = dir.resolve("next.csr");
        return Files.exists(f) ? Optional.of(Files.readString(f, StandardCharsets.US_ASCII)) : Optional.empty();
    }

    public void writeNext(CaCredential next) throws IOException {
        AtomicFiles.writePrivate(dir.resolve("next.key"), Pem.writePrivateKey(next.key()));
        AtomicFiles.write(dir.resolve("next.pem"), Pem.write(next.chain().toArray()));
    }

    /** The signed new credential ({@code next.key} + {@code next.pem}), once {@code sign} stored it. */
    public Optional<CaCredential> next() {
        return credential("next");
    }

    public void writeActive(CaCredential active) throws IOException {
        AtomicFiles.writePrivate(dir.resolve("active.key"), Pem.writePrivateKey(active.key()));
        AtomicFiles.write(dir.resolve("active.pem"), Pem.write(active.chain().toArray()));
    }

    public Optional<CaCredential> active() {
        return credential("active");
    }

    private Optional<CaCredential> credential(String name) {
        Path key = dir.resolve(name + ".key");
        Path chain = dir.resolve(name + ".pem");
        if (!Files.exists(key) || !Files.exists(chain)) {
            return Optional.empty();
        }
        return Optional.of(new CaCredential(Pem.readPrivateKey(key), Pem.readCertificates(chain)));
    }

    /** Removes what {@code prepare} and {@code sign} left (after an abort, or once the new CA is active). */
    public void clearNext() throws IOException {
        for (String f : List.of("next.key", "next.csr", "next.pem")) {
            Files.deleteIfExists(dir.resolve(f));
        }
    }
}
