package io.isthmus.packaging;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a command line tool to completion (dpkg, runc, umoci, tar, sha256sum ...) and keeps what it printed. */
public final class Commands {
    private Commands() {
    }

    public record Result(List<String> command, int exit, String output) {
        /** The output, or an AssertionError naming the command, its exit code and everything it printed. */
        public String ok() {
            if (exit != 0) {
                throw new AssertionError(String.join(" ", command) + " exited " + exit + ":\n" + output);
            }
            return output;
        }
    }

    public static Result run(String... command) throws IOException, InterruptedException {
        return run(null, Map.of(), command);
    }

    public static Result run(Path dir, Map<String, String> env, String... command)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        if (dir != null) {
            pb.directory(dir.toFile());
        }
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish in 5 minutes:\n" + out);
        }
        return new Result(List.of(command), p.exitValue(), out);
    }

    public static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Path.of(dir, tool).toFile().canExecute()) {
                return true;
            }
        }
        return false;
    }

    public static boolean isRoot() {
        try {
            return run("id", "-u").output().strip().equals("0");
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /** {@code args} with {@code first} prepended, for building command lines. */
    public static String[] with(String first, List<String> args) {
        List<String> all = new ArrayList<>();
        all.add(first);
        all.addAll(args);
        return all.toArray(String[]::new);
    }
}
