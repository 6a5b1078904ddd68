package io.isthmus.proxy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.isthmus.trust.testing.FreePorts;

/**
 * Debian's nginx as a test backend on loopback, started from a generated configuration with
 * {@code merge_slashes on} (its default) and stopped on {@link #close}. Every request is answered with 200 and what
 * nginx made of it: {@code raw=} the request target as received ({@code $request_uri}), {@code view=} the path it
 * serves after its own decoding, dot removal and slash merging ({@code $uri}), and the XFCC it got.
 */
final class Nginx implements AutoCloseable {
    static final Path BINARY = Path.of("/usr/sbin/nginx");

    private final Process process;
    private final InetSocketAddress address;
    private final Path dir;

    private Nginx(Process process, InetSocketAddress address, Path dir) {
        this.process = process;
        this.address = address;
        this.dir = dir;
    }

    /** Fails (rather than skips) when nginx is missing: .ci/run installs it, the path table needs it. */
    static Nginx start(Path dir) throws IOException, InterruptedException {
        if (!Files.isExecutable(BINARY)) {
            throw new IllegalStateException(BINARY + " is missing: apt-get install nginx-light (.ci/run does)");
        }
        int port = FreePorts.next();
        Files.createDirectories(dir.resolve("tmp"));
        String t = dir.resolve("tmp").toString();
        Path conf = Files.writeString(dir.resolve("nginx.conf"), """
                worker_processes 1;
                daemon off;
                error_log %1$s/error.log warn;
                pid %1$s/nginx.pid;
                events { worker_connections 64; }
                http {
                    access_log off;
                    client_body_temp_path %2$s; proxy_temp_path %2$s; fastcgi_temp_path %2$s;
                    uwsgi_temp_path %2$s; scgi_temp_path %2$s;
                    merge_slashes on;
                    server {
                        listen 127.0.0.1:%3$d;
                        location / {
                            default_type text/plain;
                            return 200 "server=nginx\\nraw=$request_uri\\nview=$uri\\nxfcc=$http_x_forwarded_client_cert\\n";
                        }
                    }
                }
                """.formatted(dir, t, port));
        Process p = new ProcessBuilder(BINARY.toString(), "-p", dir.toString(), "-c", conf.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("stdout.log").toFile()).start();
        InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            try (Socket s = new Socket(address.getAddress(), port)) {
                return new Nginx(p, address, dir);
            } catch (IOException notYet) {
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    throw new IllegalStateException("nginx did not start: " + Files.readString(dir.resolve("stdout.log"))
                            + (Files.exists(dir.resolve("error.log")) ? Files.readString(dir.resolve("error.log")) : ""));
                }
                Thread.sleep(50);
            }
        }
    }

    InetSocketAddress address() {
        return address;
    }

    Path dir() {
        return dir;
    }

    /** SIGTERM (nginx's fast shutdown), then waits for the master and its worker to exit. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        process.descendants().forEach(ProcessHandle::destroyForcibly);
    }
}
