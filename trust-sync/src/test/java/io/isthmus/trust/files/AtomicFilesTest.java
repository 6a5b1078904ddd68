package io.isthmus.trust.files;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    /**
     * Two writers of one file at once (a gateway's two fetches of one peer's bundle finishing together): each write
     * replaces the file whole, none fails, and no temporary file is left.
     */
    @Test
    void concurrentWritersOfOneFileEachReplaceItWholeAndNoneFails() throws Exception {
        Path target = dir.resolve("gamma.acme.internal.json");
        String a = "a".repeat(20_000);
        String b = "b".repeat(20_000);
        CyclicBarrier start = new CyclicBarrier(2);
        List<CompletableFuture<Void>> writers = Stream.of(a, b).map(content -> CompletableFuture.runAsync(() -> {
            try {
                start.await();
                for (int i = 0; i < 300; i++) {
                    AtomicFiles.write(target, content);
                    String read = Files.readString(target);
                    assertThat(read).isIn(a, b);
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, Thread::startVirtualThread)).toList();
        CompletableFuture.allOf(writers.toArray(CompletableFuture[]::new)).join();
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("gamma.acme.internal.json");
        }
    }

    @Test
    void aPrivateFileIsTheOwnersOnly() throws Exception {
        Path key = dir.resolve("intermediate.key");
        AtomicFiles.writePrivate(key, "secret");
        AtomicFiles.writePrivate(key, "secret 2");
        assertThat(Files.readString(key)).isEqualTo("secret 2");
        assertThat(Files.getPosixFilePermissions(key))
                .isEqualTo(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));
    }
}
