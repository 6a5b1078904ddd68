package io.isthmus.packaging.launcher;

import static io.isthmus.packaging.launcher.JvmCacheProbe.cacheFiles;
import static io.isthmus.packaging.launcher.JvmCacheProbe.complaints;
import static io.isthmus.packaging.launcher.JvmCacheProbe.mapped;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.isthmus.packaging.Commands;

/**
 * The gateway's launcher ({@code src/main/sh/with-jvm-cache}, run by /bin/sh as the systemd unit and the image run it)
 * with the packages' own jlink runtime, on a small application that reports what the kernel mapped into it: the
 * first start writes the JDK's AOT cache when the JVM exits, the next one maps it, and what would make the JVM refuse
 * a cache (a new application, other options, a write cut short, a JDK before 25) neither maps it nor logs a warning.
 * On every path it asks for transparent huge pages where the kernel's mode offers them, and only there.
 */
class WithJvmCacheIT {
    private static final Path LAUNCHER = Path.of(System.getProperty("isthmus.launcher"));
    private static final Path JAVA = Path.of(System.getProperty("isthmus.runtime"), "bin", "java");
    private static final String THP = "-XX:+UseTransparentHugePages";
    private static final Path KERNEL_THP_MODE = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
    /** The unit's options that the JVM checks against a cache (native access is one). */
    private static final List<String> OPTIONS = List.of("-XX:+UseG1GC", "--enable-native-access=ALL-UNNAMED");

    @TempDir
    Path dir;

    private Commands.Result start(Path state, Path java, List<String> options, Path jar) throws Exception {
        return JvmCacheProbe.start(List.of(), LAUNCHER, state, java, options, jar);
    }

    @Test
    void theFirstStartWritesTheAotCacheWhenItExitsAndTheNextStartMapsIt() throws Exception {
        Path state = Files.createDirectories(dir.resolve("state"));
        Path jar = JvmCacheProbe.writeJar(dir.resolve("app/probe.jar"), "1");
        Commands.Result first = start(state, JAVA, OPTIONS, jar);
        assertThat(mapped(first)).as("a first start has no cache to map").isEmpty();
        assertThat(cacheFiles(state)).as("written at exit, complete (no .config left)").singleElement().asString()
                .matches("jvm-[0-9a-f]+\\.aot");
        Commands.Result second = start(state, JAVA, OPTIONS, jar);
        assertThat(mapped(second)).containsExactly(state.resolve(cacheFiles(state).get(0)).toString());
        assertThat(complaints(first)).isEmpty();
        assertThat(complaints(second)).isEmpty();
        boolean offered = kernelOffersHugePages();
        assertThat(JvmCacheProbe.arguments(first).contains(THP)).as("huge pages asked for on the training run")
                .isEqualTo(offered);
        assertThat(JvmCacheProbe.arguments(second).contains(THP)).as("and on the run that maps the cache")
                .isEqualTo(offered);
    }

    /**
     * The kernel's mode as its file shows it (the word in brackets), and the operator's own choice, against whether
     * the launcher adds -XX:+UseTransparentHugePages. Without a state directory (the launcher's plain path).
     */
    @ParameterizedTest(name = "mode file \"{0}\", JAVA_OPTS \"{1}\", JAVA_TOOL_OPTIONS \"{2}\": added {3}")
    @CsvSource(delimiter = '|', nullValues = "absent", value = {
            "always [madvise] never  |                                  |                              | true",
            "[always] madvise never  |                                  |                              | true",
            "always madvise [never]  |                                  |                              | false",
            "''                      |                                  |                              | false",
            "absent                  |                                  |                              | false",
            "madvise never           |                                  |                              | false",
            "always [madvise] never  | -XX:-UseTransparentHugePages     |                              | false",
            "always [madvise] never  |                                  | -XX:-UseTransparentHugePages | false",
            "[always] madvise never  | -XX:-UseLargePages               |                              | false"})
    void hugePagesAreAskedForExactlyWhereTheKernelOffersThemAndTheOperatorChoseNothing(String modeFile, String javaOpts,
            String toolOptions, boolean added) throws Exception {
        Path mode = dir.resolve("thp-enabled");
        if (modeFile != null) {
            Files.writeString(mode, modeFile + "\n");
        }
        List<String> options = new java.util.ArrayList<>(OPTIONS);
        if (javaOpts != null) {
            options.add(javaOpts);
        }
        Map<String, String> env = new java.util.HashMap<>(Map.of("ISTHMUS_THP_MODE_FILE", mode.toString()));
        if (toolOptions != null) {
            env.put("JAVA_TOOL_OPTIONS", toolOptions);
        }
        Commands.Result run = JvmCacheProbe.start(List.of(), env, LAUNCHER, dir.resolve("no-state"), JAVA, options,
                JvmCacheProbe.writeJar(dir.resolve("app/probe.jar"), "1"), List.of());
        assertThat(JvmCacheProbe.arguments(run).contains(THP)).as(run.output()).isEqualTo(added);
        if (javaOpts != null) {
            assertThat(JvmCacheProbe.arguments(run)).as("the operator's option, as given").contains(javaOpts);
        }
        assertThat(complaints(run)).isEmpty();
    }

    @Test
    void whereTheKernelOffersHugePagesTheJvmsHeapIsInThemWithoutAWarning() throws Exception {
        Assumptions.assumeTrue(kernelOffersHugePages(), "this kernel's transparent huge pages are off");
        Commands.Result run = start(dir.resolve("no-state"), JAVA, OPTIONS,
                JvmCacheProbe.writeJar(dir.resolve("app/probe.jar"), "1"));
        assertThat(JvmCacheProbe.hugePagesKb(run)).as("AnonHugePages of the JVM:%n%s", run.output()).isPositive();
        assertThat(complaints(run)).isEmpty();
    }

    private static boolean kernelOffersHugePages() throws java.io.IOException {
        String mode = Files.isReadable(KERNEL_THP_MODE) ? Files.readString(KERNEL_THP_MODE) : "";
        return mode.contains("[always]") || mode.contains("[madvise]");
    }

    @Test
    void withJcmdInTheRuntimeTheTrainingRunWritesTheCacheWhileItRunsSoItsStopNeedNot() throws Exception {
        assertThat(JAVA.resolveSibling("jcmd")).as("the runtime carries jcmd (runtime.sh)").isExecutable();
        Path state = Files.createDirectories(dir.resolve("state"));
        Path jar = JvmCacheProbe.writeJar(dir.resolve("app/probe.jar"), "1");
        // The probe runs until a whole cache is in the state directory; the launcher ends the training after 1 s.
        Commands.Result first = JvmCacheProbe.start(List.of(), Map.of("ISTHMUS_AOT_TRAINING_SECONDS", "1"),
                LAUNCHER, state, JAVA, OPTIONS, jar, List.of("await-cache", state.toString()));
        assertThat(JvmCacheProbe.writtenWhileRunning(first)).as("the training run's output:%n%s", first.output()).isTrue();
        assertThat(complaints(first)).isEmpty();
        assertThat(first.output().lines().filter(l -> l.startsWith("AOTCache creation is complete")))
                .as("written once, not again at exit").hasSize(1);
        assertThat(mapped(start(state, JAVA, OPTIONS, jar))).containsExactly(
                state.resolve(cacheFiles(state).get(0)).toString());
    }

    @Test
    void aNewApplicationOrNewJvmOptionsTrainANewCacheQuietlyAndTheOldOneGoes() throws Exception {
        Path state = Files.createDirectories(dir.resolve("state"));
        Path jar = JvmCacheProbe.writeJar(dir.resolve("app/probe.jar"), "1");
        start(state, JAVA, OPTIONS, jar);
        List<String> old = cacheFiles(state);
        // An upgrade: the same path, other bytes. The JVM would refuse the old cache, with errors at every start.
        JvmCacheProbe.writeJar(jar, "2 (upgraded)");
        Commands.Result upgraded = start(state, JAVA, OPTIONS, jar);
        assertThat(mapped(upgraded)).as("the upgraded application's first start").isEmpty();
        assertThat(complaints(upgraded)).isEmpty();
        assertThat(cacheFiles(state)).hasSize(1).doesNotContainAnyElementsOf(old);
        assertThat(mapped(start(state, JAVA, OPTIONS, jar))).hasSize(1);
        // An operator's JAVA_OPTS (here a module option the JVM checks against the cache).
        List<String> more = new java.util.ArrayList<>(OPTIONS);
        more.add("--add-opens=java.base/java.lang=ALL-UNNAMED");
        Commands.Result reconfigured = start(state, JAVA, more, jar);
        assertThat(mapped(reconfigured)).isEmpty();
        assertThat(complaints(reconfigured)).isEmpty();
        assertThat(mapped(start(state, JAVA, more, jar))).hasSize(1);
    }

    @Test
    void aCacheCutShortIsMadeAgainAndAnUnreadableOneIsNeverFatal() throws Exception {
        Path state = Files.createDirectories(dir.resolve("state"));
        Path jar = JvmCacheProbe.writeJar(dir.resolve("app/probe.jar"), "1");
        start(state, JAVA, OPTIONS, jar);
        Path cache = state.resolve(cacheFiles(state).get(0));
        // Killed while writing (e.g. systemd's stop timeout): half a file, and the JVM's .config still beside it.
        byte[] whole = Files.readAllBytes(cache);
        Files.write(cache, java.util.Arrays.copyOf(whole, whole.length / 2));
        Files.writeString(state.resolve(cache.getFileName() + ".config"), "left by a JVM that did not finish");
        Commands.Result again = start(state, JAVA, OPTIONS, jar);
        assertThat(mapped(again)).isEmpty();
        assertThat(complaints(again)).isEmpty();
        assertThat(cacheFiles(state)).containsExactly(cache.getFileName().toString());
        assertThat(mapped(start(state, JAVA, OPTIONS, jar))).containsExactly(cache.toString());
        // Damaged some other way: the JVM says so and starts without it.
        Files.write(cache, new byte[4096]);
        Commands.Result damaged = start(state, JAVA, OPTIONS, jar);
        assertThat(damaged.output()).contains(JvmCacheProbe.RAN);
        assertThat(mapped(damaged)).isEmpty();
    }

    @Test
    void aJdk21To24RuntimeGetsADynamicAppCdsArchiveAndOptionsThatChooseACacheWin() throws Exception {
        // A runtime that calls itself 21: the launcher reads the release file, as it would in a JDK 21 runtime.
        Path home = Files.createDirectories(dir.resolve("jdk21/bin")).getParent();
        Files.createSymbolicLink(home.resolve("bin/java"), JAVA);
        Files.createSymbolicLink(home.resolve("lib"), JAVA.getParent().getParent().resolve("lib"));
        Files.writeString(home.resolve("release"), "IMPLEMENTOR=\"test\"\nJAVA_VERSION=\"21.0.5\"\n");
        Path state = Files.createDirectories(dir.resolve("state"));
        Path jar = JvmCacheProbe.writeJar(dir.resolve("app/probe.jar"), "1");
        // Without --enable-native-access: the JDK 25 binary behind this runtime checks it against its own base archive
        // (jlink's, dumped without it), which a real 21-24 runtime's dynamic archive is not tested against here.
        List<String> options = List.of("-XX:+UseG1GC");
        start(state, home.resolve("bin/java"), options, jar);
        assertThat(cacheFiles(state)).singleElement().asString().matches("jvm-[0-9a-f]+\\.jsa");
        Commands.Result second = start(state, home.resolve("bin/java"), options, jar);
        assertThat(mapped(second)).containsExactly(state.resolve(cacheFiles(state).get(0)).toString());
        assertThat(complaints(second)).isEmpty();

        // An operator who turns sharing off (or picks a cache) in JAVA_OPTS gets exactly that.
        Path own = Files.createDirectories(dir.resolve("own"));
        List<String> off = List.of("-Xshare:off");
        Commands.Result plain = start(own, JAVA, off, jar);
        assertThat(plain.output()).contains(JvmCacheProbe.RAN);
        assertThat(cacheFiles(own)).isEmpty();
    }
}
