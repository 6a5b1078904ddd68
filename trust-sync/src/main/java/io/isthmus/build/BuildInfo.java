package io.isthmus.build;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Objects;
import java.util.Properties;

/**
 * Which build a binary is: its version and the git commit it was built from. The build writes
 * {@value #RESOURCE} (git-commit-id-maven-plugin in trust-sync, the module every Isthmus artifact contains, so the
 * gateway, the CLI and the agent all report the same build). A build from a source tree without git reports
 * commit {@value #UNKNOWN} rather than failing.
 */
public record BuildInfo(String version, String commit, boolean modified) {
    public static final String RESOURCE = "META-INF/isthmus-build.properties";
    public static final String UNKNOWN = "unknown";

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
        try (InputStream in = BuildInfo.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is missing from the class path: this binary was not "
                        + "built by the Isthmus build (run ./mvnw package)");
            }
            Properties p = new Properties();
            p.load(in);
            return from(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
    }

    /** From the plugin's keys; a missing commit (no git at build time) becomes {@value #UNKNOWN}. */
    static BuildInfo from(Properties p) {
        String version = p.getProperty("git.build.version", "");
        if (version.isBlank()) {
            throw new IllegalStateException(RESOURCE + " has no git.build.version");
        }
        String commit = p.getProperty("git.commit.id.abbrev", "");
        return new BuildInfo(version, commit.isBlank() ? UNKNOWN : commit,
                Boolean.parseBoolean(p.getProperty("git.dirty", "false")));
    }

    /** {@code 0.1.0 (commit 8277983)}; a build from a tree with uncommitted changes says so. */
    public String describe() {
        return version + " (commit " + commit + (modified ? ", with uncommitted changes" : "") + ")";
    }
}
