package io.isthmus.agent.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A gateway that takes connections and never answers, not even the TLS handshake: a call the agent makes to it stays
 * in flight (until its 15 s timeout), as one to a gateway that hangs does. Tells when the first call reached it.
 */
public final class SilentGateway implements AutoCloseable {
    private final ServerSocket server;
    private final List<Socket> connections = new CopyOnWriteArrayList<>();
    private final CountDownLatch called = new CountDownLatch(1);

    private SilentGateway(ServerSocket server) {
        this.server = server;
        Thread.ofPlatform().daemon().name("silent-gateway").start(() -> {
            try {
                while (true) {
                    connections.add(server.accept());
                    called.countDown();
                }
            } catch (IOException closed) {
                // close()
            }
        });
    }

    public static SilentGateway start() throws IOException {
        return new SilentGateway(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()));
    }

    public URI uri() {
        return URI.create("https://127.0.0.1:" + server.getLocalPort());
    }

    /** Whether a call reached this within {@code timeout} (it is then in flight: nothing answers it). */
    public boolean awaitCall(Duration timeout) throws InterruptedException {
        return called.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : connections) {
            s.close();
        }
    }
}
