package io.isthmus.integration.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.isthmus.integration.federation.ClusterSpec;
import io.isthmus.integration.federation.LocalFederation;
import io.isthmus.integration.support.Repo;
import io.isthmus.trust.testing.FreePorts;

/**
 * The README's quick start as a user runs it: the launcher behind {@code bin/isthmus-local}, here with two clusters,
 * then the calls it prints, typed the moment it says "Ctrl-C stops everything" (they used to answer 404 until the
 * other cluster's exports had replicated), then the stop that Ctrl-C makes (SIGTERM takes the same path). Nothing a
 * person reads, the launcher's output or a gateway's log, may show an ERROR or a stack trace. Tagged slow: the two
 * gateways' start and their first stop, which writes their start-up cache, take over a minute.
 */
@Tag("slow")
class QuickStartE2ETest {
    private static final Pattern STACK_FRAME = Pattern.compile("(?m)^\\s+at [\\w$.]+\\(");

    @Test
    void thePrintedCallsAnswerAsSoonAsTheLauncherIsUpAndItStopsCleanly(@TempDir Path dir) throws Exception {
        int base = freeBlock(2);
        Path out = dir.resolve("launcher.out");
        Path state = dir.resolve("federation");
        Process launcher = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), LocalFederation.class.getName(), "--clusters", "2",
                "--base-port", String.valueOf(base), "--dir", state.toString(), "--app",
                Repo.root().resolve("federation-gateway/target/quarkus-app/quarkus-run.jar").toString())
                .directory(Repo.root().toFile()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(100))
                    .until(() -> !launcher.isAlive() || read(out).contains("Ctrl-C stops everything"));
            assertThat(launcher.isAlive()).as("the launcher exited before it was up:%n%s", read(out)).isTrue();
            List<String> curls = read(out).lines().map(String::strip).filter(l -> l.startsWith("curl ")).toList();
            assertThat(curls).as("the printed calls in:%n%s", read(out)).hasSize(3);

            // At once, as a user pastes them: east's client calls west's service, the intruder is denied there,
            // and east's registry lists west's export.
            assertThat(shell(curls.get(0))).startsWith("{\"cluster\":\"west\",\"service\":\"hello\"")
                    .contains("\"caller\":\"spiffe://east.isthmus.local/ns/demo/sa/client\"");
            assertThat(shell(curls.get(1))).contains("no-matching-allow");
            assertThat(shell(curls.get(2))).contains("\"cluster\":\"west\"");
        } finally {
            launcher.destroy();
            if (!launcher.waitFor(3, TimeUnit.MINUTES)) {
                launcher.destroyForcibly();
            }
        }
        String output = read(out);
        assertThat(output).contains("stopping the federation...");
        List<Path> logs = new ArrayList<>(List.of(out));
        try (Stream<Path> files = Files.walk(state)) {
            files.filter(f -> f.getFileName().toString().equals("gateway.log")).forEach(logs::add);
        }
        assertThat(logs).as("the launcher's output and both gateways' logs").hasSize(3);
        for (Path log : logs) {
            String text = read(log);
            assertThat(text).as("%s", log).doesNotContain(" ERROR ");
            assertThat(STACK_FRAME.matcher(text).find()).as("a stack trace in %s:%n%s", log, text).isFalse();
        }
    }

    /** Runs one printed command line as a user's shell would, and returns what it printed. */
    private static String shell(String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("sh", "-c", command).directory(Repo.root().toFile()).redirectErrorStream(true)
                .start();
        String printed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return printed;
    }

    private static String read(Path file) throws IOException {
        return Files.exists(file) ? Files.readString(file) : "";
    }

    /** A base port whose launcher layout ({@link ClusterSpec.Ports#fromBase}, 100 apart) is free for every cluster. */
    private static int freeBlock(int clusters) {
        for (int base = 12000 + (int) (ProcessHandle.current().pid() % 150) * 100; base < 32000; base += 1000) {
            boolean free = true;
            for (int i = 0; i < clusters && free; i++) {
                ClusterSpec.Ports p = ClusterSpec.Ports.fromBase(base + 100 * i);
                for (int port : new int[] {p.api(), p.management(), p.bundle(), p.ingress(), p.egress(), p.xsite(),
                        p.local(), p.sample()}) {
                    free &= FreePorts.bindable(port);
                }
            }
            if (free) {
                return base;
            }
        }
        throw new IllegalStateException("no free block of launcher ports between 12000 and 32000");
    }
}
