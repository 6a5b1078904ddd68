package io.isthmus.integration.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.isthmus.trust.testing.FreePorts;

/**
 * Real PostgreSQL and Redis from Debian (installed by {@code .ci/run}) for end-to-end tests: throwaway data
 * directories, loopback only, no persistence beyond the test. PostgreSQL refuses to run as root, so as root its
 * data directory belongs to the {@code postgres} user (created by the Debian package) and it runs as that user.
 */
public final class Databases {
    private Databases() {
    }

    /** A fresh cluster (trust authentication on loopback, user {@code postgres}) in a new directory. */
    public static LocalServer postgres() throws IOException, InterruptedException {
        Path bin = postgresBin();
        // Outside the test's temporary directory: that one is private to root, and the server user must reach this.
        Path dir = Files.createTempDirectory("isthmus-pg-");
        Path data = dir.resolve("data");
        boolean root = "root".equals(System.getProperty("user.name"));
        List<String> asServer = new ArrayList<>();
        if (root) {
            Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            UserPrincipal postgres = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
            Files.setOwner(dir, postgres);
            asServer.addAll(List.of("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"));
        }
        List<String> initdb = new ArrayList<>(asServer);
        initdb.addAll(List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", "postgres",
                "--auth=trust", "--no-sync"));
        Process init = new ProcessBuilder(initdb).redirectErrorStream(true)
                .redirectOutput(dir.resolve("initdb.log").toFile()).directory(dir.toFile()).start();
        if (!init.waitFor(120, TimeUnit.SECONDS) || init.exitValue() != 0) {
            throw new IllegalStateException("initdb failed: " + Files.readString(dir.resolve("initdb.log")));
        }
        int port = FreePorts.next();
        List<String> server = new ArrayList<>(asServer);
        server.addAll(List.of(bin.resolve("postgres").toString(), "-D", data.toString(), "-p", Integer.toString(port),
                "-h", "127.0.0.1", "-k", dir.toString(), "-c", "fsync=off"));
        return LocalServer.start("postgresql", server, port, dir.resolve("postgres.log"), "INT").owning(dir);
    }

    /** A Redis without persistence. */
    public static LocalServer redis(Path dir) throws IOException, InterruptedException {
        Path bin = LocalServer.binary("redis-server", Path.of("/usr/bin/redis-server"));
        Files.createDirectories(dir);
        int port = FreePorts.next();
        return LocalServer.start("redis", List.of(bin.toString(), "--port", Integer.toString(port), "--bind",
                "127.0.0.1", "--dir", dir.toString(), "--save", "", "--appendonly", "no", "--daemonize", "no"), port,
                dir.resolve("redis.log"), "TERM");
    }

    private static Path postgresBin() {
        try (var versions = Files.list(Path.of("/usr/lib/postgresql"))) {
            return versions.map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("postgres")))
                    .sorted().reduce((a, b) -> b).orElseThrow();
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("/usr/lib/postgresql/<version>/bin/postgres is missing: apt-get install"
                    + " postgresql (.ci/run does)");
        }
    }
}
