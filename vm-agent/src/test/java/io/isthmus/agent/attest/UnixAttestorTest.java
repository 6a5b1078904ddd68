package io.isthmus.agent.attest;

import io.isthmus.trust.attest.Selector;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** The selectors of a real process, checked against sha256sum and the process's own view; a gone process fails. */
class UnixAttestorTest {
    @Test
    void derivesSpireSelectorsOfARealProcess() throws Exception {
        Process sleep = new ProcessBuilder("sleep", "30").start();
        try {
            int uid = ((Number) Files.getAttribute(Path.of("/proc/" + sleep.pid()), "unix:uid")).intValue();
            int gid = ((Number) Files.getAttribute(Path.of("/proc/" + sleep.pid()), "unix:gid")).intValue();
            String exe = Path.of("/proc/" + sleep.pid() + "/exe").toRealPath().toString();
            Process sum = new ProcessBuilder("sha256sum", exe).start();
            String hash = new String(sum.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).split(" ")[0];
            Process id = new ProcessBuilder("id", "-un").start();
            String user = new String(id.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();

            assertThat(new UnixAttestor().attest(new Caller((int) sleep.pid(), uid, gid))).extracting(Selector::toString)
                    .contains("unix:uid:" + uid, "unix:gid:" + gid, "unix:user:" + user, "unix:path:" + exe,
                            "unix:sha256:" + hash);
        } finally {
            sleep.destroy();
        }
    }

    @Test
    void refusesAProcessThatIsGone() throws Exception {
        Process p = new ProcessBuilder("true").start();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThatThrownBy(() -> new UnixAttestor().attest(new Caller((int) p.pid(), 0, 0)))
                .isInstanceOf(AttestationException.class).hasMessageContaining("pid " + p.pid() + " (uid 0) is gone");
    }

    @Test
    void namesComeFromPasswdAndGroupFiles() throws Exception {
        Path passwd = Files.createTempFile("passwd", "");
        Files.writeString(passwd, "root:x:0:0:root:/root:/bin/bash\nbilling:x:1001:1001::/home/billing:/bin/sh\nbad name:x:7:7::/:/bin/sh\n");
        try {
            assertThat(UnixAttestor.nameOf(passwd, 1001)).contains("billing");
            assertThat(UnixAttestor.nameOf(passwd, 1002)).isEmpty();
            assertThat(UnixAttestor.nameOf(passwd, 7)).isEmpty();
        } finally {
            Files.delete(passwd);
        }
    }
}
