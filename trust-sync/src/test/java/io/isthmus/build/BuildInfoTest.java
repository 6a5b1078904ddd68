package io.isthmus.build;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

class BuildInfoTest {
    @Test
    void theBuildWroteThisModulesVersionAndTheCheckedOutCommit() throws Exception {
        BuildInfo build = BuildInfo.current();
        // The surefire JVM gets the POM's version: the resource must agree with it.
        assertThat(build.version()).isEqualTo(System.getProperty("isthmus.expected.version"));
        // ... and the commit is this checkout's HEAD (a linked worktree's own, not its main checkout's).
        Process git = new ProcessBuilder("git", "rev-parse", "--short=7", "HEAD").directory(Path.of("").toAbsolutePath().toFile())
                .redirectErrorStream(true).start();
        String head = new String(git.getInputStream().readAllBytes()).strip();
        assertThat(git.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(build.commit()).isEqualTo(git.exitValue() == 0 ? head : BuildInfo.UNKNOWN);
    }

    @Test
    void describesVersionCommitAndUncommittedChanges() {
        assertThat(BuildInfo.of("1.2.0", "8277983\n").describe()).isEqualTo("1.2.0 (commit 8277983)");
        assertThat(BuildInfo.of("1.2.0", "8277983-dirty\n").describe())
                .isEqualTo("1.2.0 (commit 8277983, with uncommitted changes)");
    }

    @Test
    void aBuildOutsideAGitCheckoutReportsAnUnknownCommit() {
        assertThat(BuildInfo.of("1.2.0", "").commit()).isEqualTo(BuildInfo.UNKNOWN);
        assertThat(BuildInfo.of("1.2.0", "fatal: not a git repository (or any of the parent directories): .git")
                .commit()).isEqualTo(BuildInfo.UNKNOWN);
    }

    @Test
    void refusesAnUnfilteredOrMissingVersion() {
        assertThatThrownBy(() -> BuildInfo.of("${project.version}", "8277983"))
                .hasMessageContaining("'${project.version}'").hasMessageContaining("not filtered");
        assertThatThrownBy(() -> BuildInfo.of("", "8277983")).hasMessageContaining("has no version");
        assertThatThrownBy(() -> new BuildInfo(" ", "abc", false)).hasMessageContaining("version ' '");
    }
}
