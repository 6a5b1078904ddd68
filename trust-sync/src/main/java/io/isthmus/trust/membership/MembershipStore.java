package io.isthmus.trust.membership;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import io.isthmus.trust.files.AtomicFiles;

/**
 * Keeps the membership document in force as the signed text it arrived in ({@code <dir>/membership.jws}, replaced
 * atomically), so that a restart re-verifies the root's own signature rather than trusting a parsed copy.
 */
public final class MembershipStore {
    private final Path file;

    public MembershipStore(Path dir) {
        this.file = dir.resolve("membership.jws");
    }

    /** The persisted document, unverified. */
    public Optional<String> load() throws IOException {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        return Optional.of(Files.readString(file, StandardCharsets.UTF_8).strip());
    }

    public void save(SignedMembership doc) throws IOException {
        AtomicFiles.write(file, doc.compact() + "\n");
    }

    public Path file() {
        return file;
    }
}
