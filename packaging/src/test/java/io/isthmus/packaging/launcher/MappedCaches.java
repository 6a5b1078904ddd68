package io.isthmus.packaging.launcher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeSet;

/**
 * The probe application of the launcher's tests (alone in its jar, so it uses nothing but the JDK): prints which
 * start-up cache files the kernel has mapped into its own memory ({@code /proc/self/maps}), so that a test sees the
 * mapping itself rather than the JVM's word for it.
 */
public final class MappedCaches {
    static final String MAPPED = "mapped ";
    static final String RAN = "probe ran";

    private MappedCaches() {
    }

    public static void main(String[] args) throws IOException {
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
        System.out.println(RAN);
    }
}
