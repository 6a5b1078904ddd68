package io.isthmus.integration.federation;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher picks the start-up cache the gateway's JDK supports, from the JDK's own {@code release} file: the AOT
 * cache on 25 and later (written by a first start, used by the next), dynamic AppCDS on 19-24, nothing on older or
 * unreadable JDKs; and a cache of another build of the gateway is deleted rather than fed to the JVM.
 */
class JvmStartupCacheTest {
    @TempDir
    Path dir;

    private Path jdk(String name, String javaVersion) throws Exception {
        Path home = dir.resolve(name);
        Files.createDirectories(home.resolve("bin"));
        if (javaVersion != null) {
            Files.writeString(home.resolve("release"), "IMPLEMENTOR=\"Eclipse Adoptium\"\nJAVA_VERSION=\"" + javaVersion
                    + "\"\nJAVA_RUNTIME_VERSION=\"" + javaVersion + "+1\"\n");
        }
        return home.resolve("bin/java");
    }

    private Path app() throws Exception {
        Path jar = dir.resolve("quarkus-run.jar");
        if (!Files.exists(jar)) {
            Files.writeString(jar, "not really a jar");
        }
        return jar;
    }

    @Test
    void jdk25WritesTheAotCacheOnAFirstStartAndUsesItAfterwards() throws Exception {
        Path java = jdk("temurin-25", "25.0.1");
        Path cache = dir.resolve("cache");
        List<String> first = JvmStartupCache.options(java, app(), cache);
        assertThat(first).hasSize(2).last().isEqualTo("-Xlog:aot*=error,cds*=error");
        assertThat(first.get(0)).startsWith("-XX:AOTCacheOutput=" + cache + "/gateway-").endsWith(".aot");
        assertThat(JvmStartupCache.trains(first)).as("a first start writes the cache as it exits").isTrue();
        Path written = Path.of(first.get(0).substring("-XX:AOTCacheOutput=".length()));
        Files.writeString(written, "cache");
        List<String> next = JvmStartupCache.options(java, app(), cache);
        assertThat(next).containsExactly("-XX:AOTCache=" + written, "-Xlog:aot*=error,cds*=error");
        assertThat(JvmStartupCache.trains(next)).as("a start that maps the cache writes none").isFalse();
    }

    @Test
    void jdk21UsesADynamicAppCdsArchive() throws Exception {
        List<String> options = JvmStartupCache.options(jdk("temurin-21", "21.0.9"), app(), dir.resolve("cache"));
        assertThat(options).hasSize(3);
        assertThat(options.get(0)).startsWith("-XX:SharedArchiveFile=").endsWith(".jsa");
        assertThat(options.subList(1, 3)).containsExactly("-XX:+AutoCreateSharedArchive", "-Xlog:cds*=error");
    }

    @Test
    void anOlderOrUnreadableJdkGetsNoCacheOptions() throws Exception {
        assertThat(JvmStartupCache.options(jdk("openjdk-17", "17.0.12"), app(), dir.resolve("cache"))).isEmpty();
        assertThat(JvmStartupCache.options(jdk("no-release", null), app(), dir.resolve("cache"))).isEmpty();
    }

    @Test
    void aCacheOfAnotherBuildOrJdkIsDeleted() throws Exception {
        Path cache = dir.resolve("cache");
        Files.createDirectories(cache);
        Path stale = Files.writeString(cache.resolve("gateway-0123456789abcdef.aot"), "old build");
        List<String> options = JvmStartupCache.options(jdk("temurin-25", "25.0.1"), app(), cache);
        assertThat(stale).doesNotExist();
        assertThat(options.get(0)).startsWith("-XX:AOTCacheOutput=");
        // Another JDK build is another cache name: the 25.0.1 cache is not offered to 25.0.2.
        Path written = Path.of(options.get(0).substring("-XX:AOTCacheOutput=".length()));
        Files.writeString(written, "cache");
        assertThat(JvmStartupCache.options(jdk("temurin-25.0.2", "25.0.2"), app(), cache).get(0))
                .startsWith("-XX:AOTCacheOutput=");
        assertThat(written).doesNotExist();
    }
}
