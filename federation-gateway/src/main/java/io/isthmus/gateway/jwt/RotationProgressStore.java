package io.isthmus.gateway.jwt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.isthmus.gateway.jwt.rotation.RotationPlan;
import io.isthmus.trust.files.AtomicFiles;

/**
 * Persists which recorded rotation step this replica applied ({@code <data-dir>/jwt/rotation-progress.json}, written
 * atomically after the key ring), so that a restarted replica neither repeats a step nor misses one. Without the
 * file (a first start, or a gateway from before cluster-wide steps) it has applied nothing. Not thread-safe: one owner.
 */
final class RotationProgressStore {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;

    RotationProgressStore(Path dir) {
        this.file = dir.resolve("rotation-progress.json");
    }

    RotationPlan.Progress load() throws IOException {
        if (!Files.exists(file)) {
            return new RotationPlan.Progress(0, 0);
        }
        try {
            JsonNode n = JSON.readTree(Files.readAllBytes(file));
            return new RotationPlan.Progress(n.path("applied").asLong(-1), n.path("active_generation").asLong(-1));
        } catch (IOException | RuntimeException e) {
            throw new IOException(file + " is not a readable JWT rotation progress (" + e.getMessage() + "); it is "
                    + "written atomically, so it was changed by hand: delete it, and this replica applies the "
                    + "cluster's recorded step again (a step is safe to repeat)", e);
        }
    }

    void save(RotationPlan.Progress p) throws IOException {
        Files.createDirectories(file.getParent());
        AtomicFiles.write(file, JSON.createObjectNode().put("applied", p.applied())
                .put("active_generation", p.activeGeneration()).toPrettyString());
    }
}
