package io.isthmus.packaging.launcher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeSet;

/**
 * The probe application of the launcher's tests (alone in its jar, so it uses nothing but the JDK): prints which
 * start-up cache files the kernel has mapped into its own memory ({@code /proc/self/maps}), so that a test sees the
 * mapping itself rather than the JVM's word for it. With {@code await-cache DIR} it first runs (up to 60 s) until a
 * whole AOT cache is in DIR (a {@code jvm-*.aot} and no {@code .config}): one that the JVM wrote while it ran. It also
 * prints the JVM options it was started with ({@code /proc/self/cmdline}) and how much of its memory the kernel backs
 * with transparent huge pages ({@code AnonHugePages} of {@code /proc/self/smaps_rollup}).
 */
public final class MappedCaches {
    static final String MAPPED = "mapped ";
    static final String RAN = "probe ran";
    static final String WRITTEN_WHILE_RUNNING = "cache written while running: ";
    static final String ARGUMENT = "argument ";
    static final String HUGE_PAGES_KB = "anonymous huge pages kB ";

    private MappedCaches() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        if (args.length == 2 && args[0].equals("await-cache")) {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (System.nanoTime() < deadline) {
                try (var files = Files.list(Path.of(args[1]))) {
                    var names = files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith("jvm-")).toList();
                    if (!names.isEmpty() && names.stream().allMatch(n -> n.endsWith(".aot"))) {
                        System.out.println(WRITTEN_WHILE_RUNNING + names);
                        break;
                    }
                }
                Thread.sleep(100);
            }
        }
        TreeSet<String> mapped = new TreeSet<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            String file = line.substring(line.lastIndexOf(' ') + 1);
            if (file.matches(".*/jvm-[^/]+\\.(aot|jsa)")) {
                mapped.add(file);
            }
        }
        for (String f : mapped) {
            System.out.println(MAPPED + f);
        }
        for (String a : Files.readString(Path.of("/proc/self/cmdline")).split("\0")) {
            System.out.println(ARGUMENT + a);
        }
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps_rollup"))) {
            if (line.startsWith("AnonHugePages:")) {
                System.out.println(HUGE_PAGES_KB + line.replaceAll("[^0-9]", ""));
            }
        }
        System.out.println(RAN);
    }
}
