package io.isthmus.trust.files;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Durable, all-or-nothing file replacement: the content goes to a temporary file in the same directory, is forced to
 * disk, and is renamed over the target. A crash (even {@code kill -9} or power loss after the rename) leaves the old
 * or the new content, never half of one. Private keys are created mode 0600 from the start, never chmod-ed after.
 */
public final class AtomicFiles {
    private static final FileAttribute<?> OWNER_ONLY =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    private AtomicFiles() {
    }

    public static void write(Path target, String content) throws IOException {
        write(target, content.getBytes(StandardCharsets.UTF_8), false);
    }

    /** Like {@link #write(Path, String)}, readable by the owner only. */
    public static void writePrivate(Path target, String content) throws IOException {
        write(target, content.getBytes(StandardCharsets.UTF_8), true);
    }

    private static void write(Path target, byte[] content, boolean ownerOnly) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        // A temporary file of its own per write: two writers of one target (two fetches of one peer's bundle that
        // finished together) each rename a whole file, the last one wins; with one shared name, one renamed the
        // other's half-written file or found it gone (NoSuchFileException, seen in a gateway's log).
        Path tmp = dir.resolve("." + target.getFileName() + "." + Long.toHexString(RANDOM.nextLong()) + ".tmp");
        try {
            replace(target, tmp, content, ownerOnly);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        syncDirectory(dir);
    }

    private static void replace(Path target, Path tmp, byte[] content, boolean ownerOnly) throws IOException {
        if (ownerOnly) {
            Files.createFile(tmp, OWNER_ONLY);
        }
        try (FileChannel channel = FileChannel.open(tmp, ownerOnly ? StandardOpenOption.WRITE : StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.wrap(content);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Makes the rename itself durable; some file systems refuse to open a directory, which is harmless there. */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Best effort: the data itself is on disk already.
        }
    }
}
