package io.isthmus.build;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Properties;

import org.junit.jupiter.api.Test;

class BuildInfoTest {
    private static Properties props(String... kv) {
        Properties p = new Properties();
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return p;
    }

    @Test
    void theBuildWroteThisModulesVersionAndItsCommit() {
        BuildInfo build = BuildInfo.current();
        // The surefire JVM gets the POM's version: the resource must agree with it.
        assertThat(build.version()).isEqualTo(System.getProperty("isthmus.expected.version"));
        assertThat(build.commit()).matches("[0-9a-f]{7,40}|" + BuildInfo.UNKNOWN);
    }

    @Test
    void describesVersionCommitAndUncommittedChanges() {
        assertThat(BuildInfo.from(props("git.build.version", "1.2.0", "git.commit.id.abbrev", "8277983",
                "git.dirty", "false")).describe()).isEqualTo("1.2.0 (commit 8277983)");
        assertThat(BuildInfo.from(props("git.build.version", "1.2.0", "git.commit.id.abbrev", "8277983",
                "git.dirty", "true")).describe()).isEqualTo("1.2.0 (commit 8277983, with uncommitted changes)");
    }

    @Test
    void aBuildWithoutGitReportsAnUnknownCommit() {
        assertThat(BuildInfo.from(props("git.build.version", "1.2.0")).commit()).isEqualTo(BuildInfo.UNKNOWN);
    }

    @Test
    void refusesAResourceWithoutVersion() {
        assertThatThrownBy(() -> BuildInfo.from(props("git.commit.id.abbrev", "8277983")))
                .hasMessageContaining("git.build.version");
        assertThatThrownBy(() -> new BuildInfo(" ", "abc", false)).hasMessageContaining("version ' '");
    }
}
