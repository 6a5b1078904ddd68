package io.isthmus.trust.reload;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a changed group of files is noticed and applied: by content, whether the file is replaced by a rename or sits
 * behind a Kubernetes {@code ..data} symlink that is swapped; a refused or half-updated content is offered again at the
 * next look, and applied once it is accepted; unchanged content is never applied twice.
 */
class WatchedFilesTest {
    @TempDir
    Path dir;

    private final List<String> applied = new ArrayList<>();

    @Test
    void appliesAContentChangeOnceWhateverTheModificationTimeSays() throws Exception {
        Path file = dir.resolve("root.pem");
        Files.writeString(file, "one");
        WatchedFiles watch = new WatchedFiles("roots", List.of(file), () -> applied.add(Files.readString(file)));
        watch.check();
        assertThat(applied).as("the content at start counts as applied").isEmpty();
        Path tmp = dir.resolve("tmp");
        Files.writeString(tmp, "two");
        Files.setLastModifiedTime(tmp, Files.getLastModifiedTime(file));
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        watch.check();
        watch.check();
        assertThat(applied).containsExactly("two");
    }

    @Test
    void followsAKubernetesSecretUpdate() throws Exception {
        Path v1 = Files.createDirectories(dir.resolve("..2026_v1"));
        Files.writeString(v1.resolve("root.pem"), "one");
        Files.createSymbolicLink(dir.resolve("..data"), v1.getFileName());
        Files.createSymbolicLink(dir.resolve("root.pem"), Path.of("..data/root.pem"));
        Path file = dir.resolve("root.pem");
        WatchedFiles watch = new WatchedFiles("roots", List.of(file), () -> applied.add(Files.readString(file)));
        Path v2 = Files.createDirectories(dir.resolve("..2026_v2"));
        Files.writeString(v2.resolve("root.pem"), "two");
        Files.createSymbolicLink(dir.resolve("..data_tmp"), v2.getFileName());
        Files.move(dir.resolve("..data_tmp"), dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
        watch.check();
        assertThat(applied).containsExactly("two");
    }

    @Test
    void offersARefusedContentAgainUntilItIsAccepted() throws Exception {
        Path key = dir.resolve("key");
        Path chain = dir.resolve("chain");
        Files.writeString(key, "k1");
        Files.writeString(chain, "c1");
        WatchedFiles watch = new WatchedFiles("intermediate", List.of(key, chain), () -> {
            String k = Files.readString(key);
            String c = Files.readString(chain);
            if (!k.substring(1).equals(c.substring(1))) {
                throw new IllegalStateException("key " + k + " does not match chain " + c);
            }
            applied.add(k + c);
        });
        Files.writeString(key, "k2");
        watch.check();
        watch.check();
        assertThat(applied).as("a key without its chain is not applied").isEmpty();
        Files.writeString(chain, "c2");
        watch.check();
        assertThat(applied).containsExactly("k2c2");
        Files.delete(chain);
        watch.check();
        assertThat(applied).as("a file that cannot be read changes nothing").containsExactly("k2c2");
    }

    @Test
    void offersUnchangedContentAgainOnceTheRefusalGoesAway() throws Exception {
        Path file = dir.resolve("root.pem");
        Files.writeString(file, "one");
        java.util.concurrent.atomic.AtomicBoolean stillNeeded = new java.util.concurrent.atomic.AtomicBoolean(true);
        WatchedFiles watch = new WatchedFiles("roots", List.of(file), () -> {
            if (stillNeeded.get()) {
                throw new IllegalStateException("the old root still signs the active intermediate");
            }
            applied.add(Files.readString(file));
        });
        Files.writeString(file, "two");
        watch.check();
        watch.check();
        assertThat(applied).isEmpty();
        stillNeeded.set(false);
        watch.check();
        assertThat(applied).as("applied once the refusal went away, though the file did not change").containsExactly("two");
    }
}
