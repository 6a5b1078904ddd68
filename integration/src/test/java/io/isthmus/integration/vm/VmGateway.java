package io.isthmus.integration.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.isthmus.gateway.cli.IsthmusCli;
import io.isthmus.integration.support.PackagedJars;
import io.isthmus.trust.testing.FreePorts;

/**
 * A real gateway process (the packaged Quarkus app, a dev CA, every listener on a free loopback port) for the VM
 * tests (and any test that needs one lone gateway), and the processes started beside it; {@link #close} stops them all.
 */
public final class VmGateway implements AutoCloseable {
    static final String ADMIN_TOKEN = "e2e-bootstrap-admin-token-0123456789abcdef";

    private final Path dir;
    private final String trustDomain;
    private final List<String> command;
    private final int mgmt;
    private final URI uri;
    private final List<Process> processes = new ArrayList<>();

    VmGateway(Path dir, String trustDomain, Duration svidTtl) throws IOException {
        this(dir, trustDomain, svidTtl, List.of());
    }

    /** @param options more {@code -D} options, after the defaults (so they win) */
    public VmGateway(Path dir, String trustDomain, Duration svidTtl, List<String> options) throws IOException {
        this.dir = dir;
        this.trustDomain = trustDomain;
        Files.writeString(adminToken(), ADMIN_TOKEN + "\n");
        int api = FreePorts.next();
        this.mgmt = FreePorts.next();
        this.uri = URI.create("https://127.0.0.1:" + api);
        List<String> command = new ArrayList<>(List.of(java(), "-Dquarkus.http.host=127.0.0.1",
                "-Dquarkus.http.port=0", "-Dquarkus.http.ssl-port=" + api,
                "-Dquarkus.management.host=127.0.0.1", "-Dquarkus.management.port=" + mgmt,
                "-Disthmus.trust-domain=" + trustDomain, "-Disthmus.dev.generate-ca=true",
                "-Disthmus.data-dir=" + dir.resolve("gateway"), "-Disthmus.bundle-endpoint.host=127.0.0.1",
                "-Disthmus.bundle-endpoint.port=0", "-Disthmus.enrolment.svid-ttl=" + svidTtl.toSeconds() + "s",
                // Every other listener of the gateway on a free loopback port too (registry, data plane).
                "-Disthmus.registry.bind-host=127.0.0.1", "-Disthmus.registry.local-port=" + FreePorts.next(),
                "-Disthmus.registry.xsite-port=" + FreePorts.next(), "-Disthmus.proxy.ingress.host=127.0.0.1",
                "-Disthmus.proxy.ingress.port=0", "-Disthmus.proxy.egress.host=127.0.0.1",
                "-Disthmus.proxy.egress.port=0",
                "-Disthmus.admin.bootstrap-token-file=" + adminToken()));
        command.addAll(options);
        command.addAll(List.of("-jar", PackagedJars.gateway().toString()));
        this.command = List.copyOf(command);
    }

    Path adminToken() {
        return dir.resolve("admin-token");
    }

    URI uri() {
        return uri;
    }

    /** The federation root the dev CA wrote. */
    Path root() {
        return dir.resolve("gateway/dev-ca/root.pem");
    }

    /** Starts the gateway (again, after a {@link Process#destroy}: same data dir, same CA) and waits until ready. */
    public Process start(String log) {
        Process p = start(command, dir.resolve(log));
        HttpClient http = HttpClient.newHttpClient();
        URI ready = URI.create("http://127.0.0.1:" + mgmt + "/q/health/ready");
        await(log + ": gateway ready").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).until(() -> {
            if (!p.isAlive()) {
                throw new IllegalStateException("gateway exited: " + Files.readString(dir.resolve(log)));
            }
            try {
                return http.send(HttpRequest.newBuilder(ready).build(), HttpResponse.BodyHandlers.discarding())
                        .statusCode() == 200;
            } catch (IOException e) {
                return false;
            }
        });
        return p;
    }

    /** A one-use join token for {@code spiffe://<td>/ns/<namespace>/sa/<serviceAccount>}, through the CLI. */
    String createToken(String namespace, String serviceAccount) {
        PrintStream oldOut = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            exit = IsthmusCli.run("token", "create", "--gateway", uri.toString(), "--trust-domain", trustDomain,
                    "--admin-token-file",
                    adminToken().toString(), "--root-ca", root().toString(), "--namespace", namespace,
                    "--service-account", serviceAccount, "--ttl", "15m");
        } finally {
            System.setOut(oldOut);
        }
        assertThat(exit).isZero();
        return out.toString(StandardCharsets.UTF_8).lines().findFirst().orElseThrow();
    }

    /** What one {@code isthmus} CLI run printed (stdout and stderr together) and its exit code. */
    record CliRun(int exit, String output) {
    }

    /**
     * Runs {@code isthmus <command...>} against this gateway with {@code --gateway}, {@code --trust-domain}, {@code --root-ca} and
     * {@code --admin-token-file adminToken} appended.
     */
    CliRun cli(Path adminToken, String... command) {
        java.io.StringWriter out = new java.io.StringWriter();
        List<String> args = new ArrayList<>(List.of(command));
        args.addAll(List.of("--gateway", uri.toString(), "--trust-domain", trustDomain, "--admin-token-file",
                adminToken.toString(), "--root-ca", root().toString()));
        int exit = IsthmusCli.run(new java.io.PrintWriter(out, true), args.toArray(String[]::new));
        return new CliRun(exit, out.toString());
    }

    /** Starts {@code command} with its output in {@code log}; stopped by {@link #close}. */
    Process start(List<String> command, Path log) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            processes.add(p);
            return p;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    @Override
    public void close() throws InterruptedException {
        for (Process p : processes.reversed()) {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }
}
