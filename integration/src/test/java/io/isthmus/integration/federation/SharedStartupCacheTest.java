package io.isthmus.integration.federation;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The test run's shared JVM cache: one start at a time trains it into a file of its own, published under the cache's
 * name only once that JVM exited cleanly; meanwhile other starts go without a cache, afterwards every start reads it.
 * A killed training publishes nothing (a JVM killed while writing leaves part of a cache) and lets a later start
 * train, a bounded number of times. No directory, or a JDK without an AOT cache: nothing changes.
 */
class SharedStartupCacheTest {
    @TempDir
    Path dir;

    private Path jdk25() throws Exception {
        Path home = dir.resolve("temurin-25");
        Files.createDirectories(home.resolve("bin"));
        Files.writeString(home.resolve("release"), "JAVA_VERSION=\"25.0.1\"\n");
        return home.resolve("bin/java");
    }

    private Path app() throws Exception {
        return Files.writeString(dir.resolve("quarkus-run.jar"), "not really a jar");
    }

    @Test
    void oneStartTrainsOthersWaitForTheCleanExitThenEveryStartReadsTheCache() throws Exception {
        SharedStartupCache shared = new SharedStartupCache(Optional.of(dir.resolve("cache")));
        Path java = jdk25();
        Path app = app();
        SharedStartupCache.Start trainer = shared.forStart(java, app);
        assertThat(trainer.options().get(0)).startsWith("-XX:AOTCacheOutput=" + dir.resolve("cache").resolve("training-"));
        Path training = trainer.training().orElseThrow();
        Path cache = trainer.cache().orElseThrow();
        assertThat(shared.forStart(java, app)).as("a start while another trains").isEqualTo(SharedStartupCache.Start.NONE);
        // The JVM writes the cache as it exits; until it has exited, nobody reads it.
        Files.writeString(training, "cache");
        assertThat(cache).doesNotExist();
        assertThat(shared.forStart(java, app).options()).isEmpty();
        shared.exited(trainer, true);
        assertThat(cache).hasContent("cache");
        assertThat(training).doesNotExist();
        SharedStartupCache.Start reader = shared.forStart(java, app);
        assertThat(reader.options()).containsExactly("-XX:AOTCache=" + cache, "-Xlog:aot*=error,cds*=error");
        assertThat(reader.training()).isEmpty();
        shared.exited(reader, false);
        assertThat(cache).as("a reader killed leaves the cache alone").hasContent("cache");
    }

    @Test
    void aKilledTrainingPublishesNothingAndALaterStartTrainsABoundedNumberOfTimes() throws Exception {
        SharedStartupCache shared = new SharedStartupCache(Optional.of(dir.resolve("cache")));
        Path java = jdk25();
        Path app = app();
        for (int i = 0; i < SharedStartupCache.MAX_TRAININGS; i++) {
            SharedStartupCache.Start trainer = shared.forStart(java, app);
            Path training = trainer.training().orElseThrow(() -> new AssertionError("no training start"));
            Files.writeString(training, "part of a cache");
            shared.exited(trainer, false);
            assertThat(training).doesNotExist();
            assertThat(trainer.cache().orElseThrow()).doesNotExist();
        }
        assertThat(shared.forStart(java, app)).as("after %d failed trainings", SharedStartupCache.MAX_TRAININGS)
                .isEqualTo(SharedStartupCache.Start.NONE);
    }

    @Test
    void withoutADirectoryOrOnAJdkWithoutAnAotCacheNothingChanges() throws Exception {
        assertThat(new SharedStartupCache(Optional.empty()).forStart(jdk25(), app()))
                .isEqualTo(SharedStartupCache.Start.NONE);
        Path home = dir.resolve("temurin-21");
        Files.createDirectories(home.resolve("bin"));
        Files.writeString(home.resolve("release"), "JAVA_VERSION=\"21.0.9\"\n");
        assertThat(new SharedStartupCache(Optional.of(dir.resolve("cache"))).forStart(home.resolve("bin/java"), app()))
                .isEqualTo(SharedStartupCache.Start.NONE);
    }
}
