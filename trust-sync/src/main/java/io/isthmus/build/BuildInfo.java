package io.isthmus.build;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which build a binary is: its version and the git commit it was built from. The build (trust-sync's POM: trust-sync
 * is in every Isthmus artifact, so the gateway, the CLI and the agent report the same build) writes the version to
 * {@value #VERSION_RESOURCE} and {@code git describe --always --dirty} to {@value #COMMIT_RESOURCE}. A build outside
 * a git checkout reports commit {@value #UNKNOWN} rather than failing.
 */
public record BuildInfo(String version, String commit, boolean modified) {
    public static final String VERSION_RESOURCE = "META-INF/isthmus-build.properties";
    public static final String COMMIT_RESOURCE = "META-INF/isthmus-build.commit";
    public static final String UNKNOWN = "unknown";
    private static final Pattern DESCRIBED = Pattern.compile("([0-9a-f]{7,40})(-dirty)?");

    public BuildInfo {
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(commit, "commit");
        if (version.isBlank() || commit.isBlank()) {
            throw new IllegalArgumentException("build version and commit must not be blank (version '" + version
                    + "', commit '" + commit + "')");
        }
    }

    /** The build of the classes on this class path. */
    public static BuildInfo current() {
        Properties p = new Properties();
        try (InputStream in = resource(VERSION_RESOURCE)) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + VERSION_RESOURCE, e);
        }
        String described;
        try (InputStream in = resource(COMMIT_RESOURCE)) {
            described = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + COMMIT_RESOURCE, e);
        }
        return of(p.getProperty("version", ""), described);
    }

    private static InputStream resource(String name) {
        InputStream in = BuildInfo.class.getClassLoader().getResourceAsStream(name);
        if (in == null) {
            throw new IllegalStateException(name + " is missing from the class path: this binary was not built by the "
                    + "Isthmus build (./mvnw package writes it)");
        }
        return in;
    }

    /**
     * From the POM's version and what {@code git describe --always --dirty --abbrev=7} printed: a commit, with
     * {@code -dirty} when the tree had uncommitted changes; anything else (git's error outside a checkout, nothing)
     * is an {@value #UNKNOWN} commit.
     */
    static BuildInfo of(String version, String described) {
        if (version.isBlank() || version.contains("${")) {
            throw new IllegalStateException(VERSION_RESOURCE + " has no version (got '" + version
                    + "'): the resource was not filtered by the build");
        }
        Matcher m = DESCRIBED.matcher(described.strip());
        if (!m.matches()) {
            return new BuildInfo(version, UNKNOWN, false);
        }
        return new BuildInfo(version, m.group(1), m.group(2) != null);
    }

    /** {@code 0.1.0 (commit 8277983)}; a build from a tree with uncommitted changes says so. */
    public String describe() {
        return version + " (commit " + commit + (modified ? ", with uncommitted changes" : "") + ")";
    }
}
