package io.isthmus.integration.federation;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One JVM AOT cache (JDK 25 and later, {@link JvmStartupCache}) shared by every gateway a test run starts, when the
 * system property {@value #PROPERTY} names its directory (the integration module's tests set it): a test run starts
 * dozens of gateways on a shared 2-core machine, and a start from the cache is ready sooner (a lone gateway in 2.3 s
 * instead of 3.7 s at load average 4.5, benchmarks/start). Without the property, or on an older JDK, gateways start as
 * before.
 * <p>
 * Many gateways start at once and several JVMs writing one cache at exit would race, so one start at a time trains
 * it: that JVM writes a file of its own, which is published under the cache's name in one rename once the process
 * has exited cleanly, and read-only afterwards. Starts meanwhile go without a cache. A training killed with
 * {@code kill -9} writes nothing; a later start trains again, up to {@value #MAX_TRAININGS} times per test JVM.
 * Thread-safe.
 */
public final class SharedStartupCache {
    /** The directory of the shared cache; unset: no shared cache. */
    public static final String PROPERTY = "isthmus.test.gateway-jvm-cache";
    static final int MAX_TRAININGS = 3;
    private static final SharedStartupCache OF_THIS_RUN = new SharedStartupCache(
            Optional.ofNullable(System.getProperty(PROPERTY)).filter(d -> !d.isBlank()).map(Path::of));

    private final Optional<Path> dir;
    private final AtomicBoolean trainingUnderway = new AtomicBoolean();
    private final AtomicInteger trainings = new AtomicInteger();

    /** @param dir where the cache is kept; empty: no shared cache */
    SharedStartupCache(Optional<Path> dir) {
        this.dir = dir;
    }

    /** The cache of this test run, in the directory {@value #PROPERTY} names. */
    static SharedStartupCache ofThisRun() {
        return OF_THIS_RUN;
    }

    /**
     * What one start adds to its JVM command.
     *
     * @param options the JVM options
     * @param training where this start writes the cache it trains, to publish as {@code cache} once it exited
     * @param cache the shared cache's file
     */
    record Start(List<String> options, Optional<Path> training, Optional<Path> cache) {
        static final Start NONE = new Start(List.of(), Optional.empty(), Optional.empty());

        Start {
            options = List.copyOf(options);
        }
    }

    /** For a start of {@code appJar} by {@code javaBinary}: use the cache, train it, or nothing. */
    Start forStart(Path javaBinary, Path appJar) {
        if (dir.isEmpty()) {
            return Start.NONE;
        }
        Optional<Path> cache = JvmStartupCache.aotCache(javaBinary, appJar, dir.get());
        if (cache.isEmpty()) {
            return Start.NONE;
        }
        if (Files.isRegularFile(cache.get())) {
            return new Start(List.of("-XX:AOTCache=" + cache.get(), JvmStartupCache.QUIET), Optional.empty(), cache);
        }
        if (trainings.get() >= MAX_TRAININGS || !trainingUnderway.compareAndSet(false, true)) {
            return Start.NONE;
        }
        Path training = cache.get().resolveSibling("training-" + ProcessHandle.current().pid() + "-"
                + trainings.incrementAndGet() + "-" + cache.get().getFileName());
        return new Start(List.of(JvmStartupCache.AOT_CACHE_OUTPUT + training, JvmStartupCache.QUIET),
                Optional.of(training), cache);
    }

    /**
     * After the process of {@code start} exited: publishes the cache it trained if it exited {@code cleanly} (a JVM
     * killed may have left a part of one), and lets another start train if not.
     */
    void exited(Start start, boolean cleanly) {
        if (start.training().isEmpty()) {
            return;
        }
        Path training = start.training().get();
        try {
            if (cleanly && Files.isRegularFile(training) && Files.size(training) > 0) {
                Files.move(training, start.cache().orElseThrow(), StandardCopyOption.ATOMIC_MOVE);
            } else {
                Files.deleteIfExists(training);
            }
            // The JVM's own working file beside the cache it writes (left empty).
            Files.deleteIfExists(training.resolveSibling(training.getFileName() + ".config"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot publish the trained JVM cache " + training, e);
        } finally {
            trainingUnderway.set(false);
        }
    }
}
