package io.isthmus.proxy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * A line-echo TCP server on loopback standing for a database or any TCP service: it greets each connection with
 * {@code <name> hello <peer>} and answers each line with {@code <name> echo <line>}. Plain, or a workload that
 * terminates mutual TLS itself with its own SVID (the destination of a passthrough route): then the peer is the
 * SPIFFE ID of the client certificate, which it records. Counts accepted connections, so a test can show that a
 * refused caller never reached it.
 */
final class TcpBackend implements AutoCloseable {
    private final ServerSocket server;
    private final String name;
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    final AtomicInteger accepted = new AtomicInteger();
    /** The client certificate chains a TLS backend saw, in order. */
    final List<X509Certificate[]> clientChains = new CopyOnWriteArrayList<>();

    private TcpBackend(ServerSocket server, String name) {
        this.server = server;
        this.name = name;
        threads.submit(this::accept);
    }

    static TcpBackend plain(String name) throws IOException {
        return new TcpBackend(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()), name);
    }

    /** A TLS server presenting {@code tls}'s key and requiring a client certificate that {@code tls} trusts. */
    static TcpBackend mutualTls(String name, SSLContext tls) throws IOException {
        SSLServerSocket s = (SSLServerSocket) tls.getServerSocketFactory().createServerSocket(0, 50,
                InetAddress.getLoopbackAddress());
        s.setNeedClientAuth(true);
        return new TcpBackend(s, name);
    }

    InetSocketAddress address() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort());
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                accepted.incrementAndGet();
                threads.submit(() -> serve(s));
            } catch (IOException closed) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            String peer = "anonymous";
            if (s instanceof SSLSocket tls) {
                tls.startHandshake();
                X509Certificate[] chain = (X509Certificate[]) tls.getSession().getPeerCertificates();
                clientChains.add(chain);
                peer = io.isthmus.trust.tls.TlsContexts.peerId(tls.getSession()).map(Object::toString).orElse("?");
            }
            OutputStream out = s.getOutputStream();
            out.write((name + " hello " + peer + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                out.write((name + " echo " + line + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (IOException | RuntimeException e) {
            // the client went away or failed its handshake: nothing to serve
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        threads.shutdownNow();
    }
}
