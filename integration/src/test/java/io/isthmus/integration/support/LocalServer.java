package io.isthmus.integration.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A server process from Debian started by a test on loopback (PostgreSQL, Redis): the process, the port it serves
 * and its log. {@link #close()} stops it with {@code signal} (each server's fast shutdown), then kills what is left.
 */
public final class LocalServer implements AutoCloseable {
    private final String name;
    private final Process process;
    private final int port;
    private final Path log;
    private final String signal;
    private Path owned;

    private LocalServer(String name, Process process, int port, Path log, String signal) {
        this.name = name;
        this.process = process;
        this.port = port;
        this.log = log;
        this.signal = signal;
    }

    /**
     * Starts {@code command} and waits until {@code port} accepts connections.
     *
     * @param signal the shutdown signal for {@code kill -s}, e.g. {@code INT} (PostgreSQL's fast shutdown)
     */
    public static LocalServer start(String name, List<String> command, int port, Path log, String signal)
            throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                return new LocalServer(name, p, port, log, signal);
            } catch (IOException notYet) {
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    throw new IllegalStateException(name + " did not start on port " + port + ": " + Files.readString(log));
                }
                Thread.sleep(100);
            }
        }
    }

    /** The first executable of {@code candidates} (a glob-free list of paths), or a failure naming the package. */
    public static Path binary(String debianPackage, Path... candidates) {
        for (Path c : candidates) {
            if (Files.isExecutable(c)) {
                return c;
            }
        }
        throw new IllegalStateException(candidates[0] + " is missing: apt-get install " + debianPackage
                + " (.ci/run does)");
    }

    /** Deletes {@code dir} (the server's data, outside the test's own temporary directory) once it has stopped. */
    LocalServer owning(Path dir) {
        this.owned = dir;
        return this;
    }

    public int port() {
        return port;
    }

    public Path log() {
        return log;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        if (process.isAlive()) {
            new ProcessBuilder("kill", "-s", signal, Long.toString(process.pid())).start().waitFor(5, TimeUnit.SECONDS);
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        if (owned != null) {
            try (var files = Files.walk(owned)) {
                for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    @Override
    public String toString() {
        return name + " on 127.0.0.1:" + port;
    }
}
