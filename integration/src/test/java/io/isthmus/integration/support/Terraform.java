package io.isthmus.integration.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the terraform CLI offline: no provider downloads (the configurations it runs have none), its working data
 * and state in a temp directory so the repository stays clean, no user CLI configuration.
 */
public final class Terraform {
    private final Path workDir;
    private final Path scratch;

    public Terraform(Path workDir, Path scratch) {
        this.workDir = workDir;
        this.scratch = scratch;
    }

    public record Result(int exit, String output) {
    }

    public static void requireInstalled() {
        try {
            Process p = new ProcessBuilder("terraform", "version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) {
                return;
            }
        } catch (IOException | InterruptedException e) {
            // fall through
        }
        throw new AssertionError("terraform must be on PATH to test the Terraform modules (it is part of this "
                + "machine image; .ci/run checks for it)");
    }

    public Result run(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add("terraform");
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.put("TF_DATA_DIR", scratch.resolve(".terraform").toString());
        env.put("TF_CLI_CONFIG_FILE", "/dev/null");
        env.put("TF_IN_AUTOMATION", "1");
        env.put("CHECKPOINT_DISABLE", "1");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("terraform " + String.join(" ", args) + " timed out");
        }
        return new Result(p.exitValue(), out);
    }

    /** Writes {@code values} as a tfvars JSON file in the scratch dir and returns its path. */
    public Path varFile(String json) throws IOException {
        Path file = scratch.resolve("test.tfvars.json");
        Files.writeString(file, json);
        return file;
    }

    public Path statePath() {
        return scratch.resolve("terraform.tfstate");
    }
}
