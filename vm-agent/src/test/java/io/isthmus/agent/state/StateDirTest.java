package io.isthmus.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.trust.bundle.BundleSet;
import io.isthmus.trust.bundle.TrustBundle;
import io.isthmus.trust.ca.CaCredential;
import io.isthmus.trust.spiffe.TrustDomain;
import io.isthmus.trust.testing.TestCa;

class StateDirTest {

    @Test
    void savesKeyOwnerOnlyAndLoadsTheSameState(@TempDir Path dir) throws Exception {
        CaCredential ca = TestCa.create().intermediate("vm.test");
        TrustDomain td = new TrustDomain("vm.test");
        AgentState state = new AgentState(URI.create("https://gw:15012"), td, TestCa.svid(ca, "spiffe://vm.test/ns/a/sa/b"),
                BundleSet.of(List.of(new TrustBundle(td, List.of(ca.certificate()), List.of(), 3, Optional.empty()))));
        StateDir sd = new StateDir(dir.resolve("state"));
        sd.save(state);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("state/svid.key"))))
                .isEqualTo("rw-------");
        AgentState loaded = sd.load();
        assertThat(loaded.svid().chain()).isEqualTo(state.svid().chain());
        assertThat(loaded.svid().key().getEncoded()).isEqualTo(state.svid().key().getEncoded());
        assertThat(loaded.bundles().bundleFor(td).orElseThrow().sequence()).isEqualTo(3);
        assertThat(loaded.gateway()).isEqualTo(state.gateway());
        sd.save(loaded.withSvid(TestCa.svid(ca, "spiffe://vm.test/ns/a/sa/b"), loaded.bundles()));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("state/svid.key"))))
                .isEqualTo("rw-------");
    }
}
