package io.isthmus.integration.monitoring;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.isthmus.integration.support.Repo;

/**
 * The alert and recording rules in {@code monitoring/prometheus} are valid and do what their unit tests say, by
 * Prometheus's own tool: {@code promtool check rules} and {@code promtool test rules} (Debian's {@code prometheus}
 * package ships it; {@code .ci/run} installs it). Without promtool this fails, naming the package, rather than skip.
 */
class AlertRulesTest {
    static final Path DIR = Repo.root().resolve("monitoring/prometheus");

    @Test
    void rulesAreValidAndPassTheirUnitTests() throws Exception {
        Result check = promtool("check", "rules", "isthmus-rules.yml");
        assertThat(check.exit()).as(check.output()).isZero();
        assertThat(check.output()).contains("SUCCESS");
        Result test = promtool("test", "rules", "isthmus-rules.test.yml");
        System.out.println(test.output());
        assertThat(test.exit()).as(test.output()).isZero();
        assertThat(test.output()).contains("SUCCESS").doesNotContain("FAILED");
    }

    @Test
    void everyAlertHasAUnitTest() throws IOException {
        String rules = Files.readString(DIR.resolve("isthmus-rules.yml"), StandardCharsets.UTF_8);
        String tests = Files.readString(DIR.resolve("isthmus-rules.test.yml"), StandardCharsets.UTF_8);
        List<String> alerts = rules.lines().filter(l -> l.strip().startsWith("- alert: "))
                .map(l -> l.strip().substring("- alert: ".length())).toList();
        assertThat(alerts).hasSizeGreaterThanOrEqualTo(9);
        for (String alert : alerts) {
            assertThat(tests).as("a promtool test of %s", alert).contains("alertname: " + alert + "\n");
        }
    }

    record Result(int exit, String output) {
    }

    static Result promtool(String... args) throws IOException, InterruptedException {
        Path promtool = Path.of("/usr/bin/promtool");
        if (!Files.isExecutable(promtool)) {
            throw new AssertionError("promtool is not installed (" + promtool + "): apt-get install prometheus "
                    + "(Debian ships promtool in it; .ci/run installs it)");
        }
        List<String> command = new java.util.ArrayList<>(List.of(promtool.toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(DIR.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("promtool " + String.join(" ", args) + " did not finish in 60 s: " + out);
        }
        return new Result(p.exitValue(), out);
    }
}
