package io.isthmus.packaging.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import io.isthmus.packaging.Commands;

/**
 * Runs {@link MappedCaches} through the gateway's launcher ({@code with-jvm-cache}) as the unit and the image run the
 * gateway ({@code -jar}), and reads what it reported.
 */
public final class JvmCacheProbe {
    public static final String RAN = MappedCaches.RAN;
    private static final String MAPPED = MappedCaches.MAPPED;

    private JvmCacheProbe() {
    }

    /** Writes the probe as an executable jar at {@code jar}; {@code variant} changes its bytes (a new release). */
    public static Path writeJar(Path jar, String variant) throws IOException {
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, MappedCaches.class.getName());
        Files.createDirectories(jar.getParent());
        String entry = MappedCaches.class.getName().replace('.', '/') + ".class";
        try (OutputStream file = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(file, manifest);
                InputStream cls = MappedCaches.class.getResourceAsStream("/" + entry)) {
            out.putNextEntry(new JarEntry(entry));
            cls.transferTo(out);
            out.putNextEntry(new JarEntry("release.txt"));
            out.write(variant.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        return jar;
    }

    /** One start through {@code launcher}: {@code prefix} (e.g. a user switch), then the launcher's own arguments. */
    public static Commands.Result start(List<String> prefix, Path launcher, Path state, Path java, List<String> options,
            Path jar) throws Exception {
        return start(prefix, Map.of(), launcher, state, java, options, jar, List.of());
    }

    /** The same with environment variables and the application's arguments. */
    public static Commands.Result start(List<String> prefix, Map<String, String> env, Path launcher,
            Path state, Path java, List<String> options, Path jar, List<String> arguments) throws Exception {
        List<String> command = new java.util.ArrayList<>(prefix);
        command.addAll(List.of(launcher.toString(), state.toString(), java.toString()));
        command.addAll(options);
        command.addAll(List.of("-jar", jar.toString()));
        command.addAll(arguments);
        Commands.Result r = Commands.run(null, env, command.toArray(String[]::new));
        r.ok();
        return r;
    }

    /** Whether the probe saw a whole cache appear while it ran ({@code await-cache}). */
    public static boolean writtenWhileRunning(Commands.Result run) {
        return run.output().contains(MappedCaches.WRITTEN_WHILE_RUNNING);
    }

    /** The cache files the probe saw mapped. */
    public static List<String> mapped(Commands.Result run) {
        return run.output().lines().filter(l -> l.startsWith(MAPPED)).map(l -> l.substring(MAPPED.length())).toList();
    }

    /** The probe JVM's own command line, as the kernel has it, one argument each. */
    public static List<String> arguments(Commands.Result run) {
        return run.output().lines().filter(l -> l.startsWith(MappedCaches.ARGUMENT))
                .map(l -> l.substring(MappedCaches.ARGUMENT.length())).toList();
    }

    /** How much of the probe's memory the kernel backed with transparent huge pages, in kB. */
    public static long hugePagesKb(Commands.Result run) {
        return run.output().lines().filter(l -> l.startsWith(MappedCaches.HUGE_PAGES_KB))
                .mapToLong(l -> Long.parseLong(l.substring(MappedCaches.HUGE_PAGES_KB.length()))).sum();
    }

    /** JVM warnings or errors, which a normal start must not print. */
    public static List<String> complaints(Commands.Result run) {
        return run.output().lines().filter(l -> l.contains("[warning]") || l.contains("[error")
                || l.toLowerCase(java.util.Locale.ROOT).contains("warning:")).toList();
    }

    /** The start-up cache files in {@code state}. */
    public static List<String> cacheFiles(Path state) throws IOException {
        try (java.util.stream.Stream<Path> files = Files.list(state)) {
            return files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith("jvm-")).sorted().toList();
        }
    }
}
