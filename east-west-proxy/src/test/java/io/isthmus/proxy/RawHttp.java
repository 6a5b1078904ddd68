package io.isthmus.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A deliberately dumb HTTP/1.1 client over a raw (optionally TLS) socket, so tests can send exactly the bytes they
 * mean to: forged identity headers, oversized headers, slow headers.
 */
final class RawHttp implements AutoCloseable {
    final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    record Response(int status, Map<String, String> headers, String body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        String reason() {
            return header("x-isthmus-reason");
        }
    }

    private RawHttp(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(10_000);
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    static RawHttp plain(InetSocketAddress to) throws IOException {
        return new RawHttp(new Socket(to.getAddress(), to.getPort()));
    }

    /** A plaintext connection from the local address {@code from} (e.g. 127.0.0.2: another client than 127.0.0.1). */
    static RawHttp plainFrom(java.net.InetAddress from, InetSocketAddress to) throws IOException {
        return new RawHttp(new Socket(to.getAddress(), to.getPort(), from, 0));
    }

    /** A TLS connection from the local address {@code from}, handshaken before returning. */
    static RawHttp tlsFrom(java.net.InetAddress from, InetSocketAddress to, SSLContext ctx) throws IOException {
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(to.getAddress(), to.getPort(), from, 0);
        s.startHandshake();
        return new RawHttp(s);
    }

    static RawHttp tls(InetSocketAddress to, SSLContext ctx) throws IOException {
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(to.getAddress(), to.getPort());
        s.startHandshake();
        return new RawHttp(s);
    }

    /** How long a read may wait for the next byte (10 s unless set). */
    RawHttp readTimeout(Duration timeout) throws IOException {
        socket.setSoTimeout((int) timeout.toMillis());
        return this;
    }

    /**
     * A TLS connection whose ClientHello names {@code serverName} (SNI) and offers {@code alpn} (none when empty),
     * handshaken before returning.
     */
    static RawHttp tls(InetSocketAddress to, SSLContext ctx, String serverName, String... alpn) throws IOException {
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(to.getAddress(), to.getPort());
        javax.net.ssl.SSLParameters p = s.getSSLParameters();
        p.setServerNames(java.util.List.of(new javax.net.ssl.SNIHostName(serverName)));
        if (alpn.length > 0) {
            p.setApplicationProtocols(alpn);
        }
        s.setSSLParameters(p);
        s.startHandshake();
        return new RawHttp(s);
    }

    /** One line of what follows (a tunnel's bytes), without its line end; null at the end of the stream. */
    String readLine() throws IOException {
        return line();
    }

    void send(String raw) throws IOException {
        out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    Response exchange(String raw) throws IOException {
        send(raw);
        return read();
    }

    static String get(String target, String host, String... headers) {
        StringBuilder b = new StringBuilder("GET ").append(target).append(" HTTP/1.1\r\nHost: ").append(host)
                .append("\r\n");
        for (String h : headers) {
            b.append(h).append("\r\n");
        }
        return b.append("\r\n").toString();
    }

    /** Reads one response with a Content-Length body; throws IOException when the connection ends first. */
    Response read() throws IOException {
        String status = line();
        if (status == null) {
            throw new IOException("connection closed before a response");
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (String l = line(); l != null && !l.isEmpty(); l = line()) {
            int colon = l.indexOf(':');
            headers.put(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), l.substring(colon + 1).trim());
        }
        int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
        byte[] body = in.readNBytes(length);
        return new Response(Integer.parseInt(status.split(" ")[1]), headers, new String(body, StandardCharsets.UTF_8));
    }

    /**
     * True when the peer closed (FIN) or reset the connection without sending anything more. A peer that keeps the
     * connection open and silent for the socket timeout (10 s) did not close it: false, as is a byte more. Run the
     * gateway with an idle timeout above 10 s, or its idle close would pass for the close under test.
     */
    boolean closedWithoutResponse() throws IOException {
        try {
            return in.read() == -1;
        } catch (java.net.SocketTimeoutException silentButOpen) {
            return false;
        } catch (java.net.SocketException reset) {
            return true;
        }
    }

    private String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\n') {
                String s = b.toString(StandardCharsets.ISO_8859_1);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            b.write(c);
        }
        return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
