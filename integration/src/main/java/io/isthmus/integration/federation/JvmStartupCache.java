package io.isthmus.integration.federation;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The JVM options that let a gateway start from a cache of the classes its previous start loaded, and write that
 * cache when there is none yet, chosen by the feature release of the JDK that runs it:
 * <ul>
 * <li>25 and later: the AOT cache (JEP 483, one-step creation by JEP 514): {@code -XX:AOTCacheOutput} on the first
 * start (the JVM writes the cache when it exits), {@code -XX:AOTCache} on later ones;</li>
 * <li>19 to 24: a dynamic AppCDS archive, {@code -XX:SharedArchiveFile} with {@code -XX:+AutoCreateSharedArchive},
 * which the JVM creates and refreshes itself;</li>
 * <li>older, or a JDK whose release cannot be read: nothing (the gateway starts as before).</li>
 * </ul>
 * A cache is only valid for the application jar and the JDK that wrote it, and a stale one makes the JVM print a
 * warning on every start: the file name carries both (the jar's size and modification time, the JDK's version), and
 * caches of older builds in the directory are deleted. Each gateway needs its own directory: two JVMs writing one
 * cache at exit would race.
 */
public final class JvmStartupCache {
    private static final Pattern JAVA_VERSION = Pattern.compile("(?m)^JAVA_VERSION=\"([0-9]+)(?:[.+-][^\"]*)?\"");
    private static final Pattern FULL_VERSION = Pattern.compile("(?m)^JAVA_VERSION=\"([^\"]+)\"");
    /**
     * Writing a cache lists, as JVM warnings in the gateway's log, every class it leaves out (dozens, none of them
     * actionable); errors still show.
     */
    static final String QUIET = "-Xlog:aot*=error,cds*=error";
    /** The option of a training start, which writes the AOT cache when the JVM exits. */
    static final String AOT_CACHE_OUTPUT = "-XX:AOTCacheOutput=";

    private JvmStartupCache() {
    }

    /** The options for {@code javaBinary} running {@code appJar}, with the cache kept in {@code dir}. */
    public static List<String> options(Path javaBinary, Path appJar, Path dir) {
        Optional<Prepared> prepared = prepare(javaBinary, appJar, dir, 19);
        if (prepared.isEmpty()) {
            return List.of();
        }
        String key = prepared.get().key();
        if (prepared.get().feature() >= 25) {
            Path cache = aotFile(dir, key);
            return List.of(Files.isRegularFile(cache) ? "-XX:AOTCache=" + cache : AOT_CACHE_OUTPUT + cache,
                    QUIET);
        }
        return List.of("-XX:SharedArchiveFile=" + dir.resolve("gateway-" + key + ".jsa"), "-XX:+AutoCreateSharedArchive",
                "-Xlog:cds*=error");
    }

    /** Whether a JVM started with {@code options} (of {@link #options}) trains: it writes its AOT cache as it exits. */
    public static boolean trains(List<String> options) {
        return options.stream().anyMatch(o -> o.startsWith(AOT_CACHE_OUTPUT));
    }

    /** The JDK's feature release and the cache key of {@code appJar} under it. */
    private record Prepared(int feature, String key) {
    }

    /**
     * Reads the JDK's release, creates {@code dir} and deletes the caches there of other jars or JDKs; empty when the
     * JDK's feature release is below {@code minFeature} (or unreadable).
     */
    private static Optional<Prepared> prepare(Path javaBinary, Path appJar, Path dir, int minFeature) {
        Optional<String> release = release(javaBinary);
        int feature = release.flatMap(r -> match(JAVA_VERSION, r)).map(Integer::parseInt).orElse(0);
        if (feature < minFeature) {
            return Optional.empty();
        }
        String key = tag(appJar, release.flatMap(r -> match(FULL_VERSION, r)).orElse(String.valueOf(feature)));
        try {
            Files.createDirectories(dir);
            deleteOtherCaches(dir, key);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the JVM start-up cache in " + dir, e);
        }
        return Optional.of(new Prepared(feature, key));
    }

    /**
     * Where the AOT cache of {@code appJar} run by {@code javaBinary} is kept in {@code dir} (older caches there are
     * deleted); empty when that JDK has no AOT cache (before 25, or its release unreadable).
     */
    static Optional<Path> aotCache(Path javaBinary, Path appJar, Path dir) {
        return prepare(javaBinary, appJar, dir, 25).map(p -> aotFile(dir, p.key()));
    }

    private static Path aotFile(Path dir, String key) {
        return dir.resolve("gateway-" + key + ".aot");
    }

    /** The JDK's {@code release} file, beside {@code bin/java}. */
    private static Optional<String> release(Path javaBinary) {
        Path home = javaBinary.toAbsolutePath().getParent().getParent();
        try {
            return Optional.of(Files.readString(home.resolve("release")));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static Optional<String> match(Pattern p, String text) {
        Matcher m = p.matcher(text);
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    private static String tag(Path appJar, String jdk) {
        try {
            String id = appJar.toAbsolutePath() + "|" + Files.size(appJar) + "|" + Files.getLastModifiedTime(appJar).toMillis()
                    + "|" + jdk;
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(id.getBytes(
                    java.nio.charset.StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + appJar, e);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteOtherCaches(Path dir, String key) throws IOException {
        try (DirectoryStream<Path> caches = Files.newDirectoryStream(dir, "gateway-*.{aot,jsa}")) {
            for (Path c : caches) {
                if (!c.getFileName().toString().startsWith("gateway-" + key + ".")) {
                    Files.deleteIfExists(c);
                }
            }
        }
    }
}
