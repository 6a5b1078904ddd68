package io.isthmus.proxy;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

import com.sun.net.httpserver.HttpServer;

/**
 * Large bodies for streaming tests, without holding them anywhere: a pattern every byte of which follows from its
 * offset (so either end can check what arrived without a copy), a JDK HttpServer backend with a sink and a source, and
 * a raw HTTP/1.1 client that streams an upload and reads a download (chunked or with a length) byte for byte.
 */
public final class Bulk {
    private Bulk() {
    }

    /** The pattern byte at {@code offset}. */
    public static byte at(long offset) {
        return (byte) (offset * 31 + (offset >>> 13) + (offset >>> 27));
    }

    public static void fill(byte[] block, long offset, int length) {
        for (int i = 0; i < length; i++) {
            block[i] = at(offset + i);
        }
    }

    /**
     * The backend: {@code POST /sink} reads the body and answers {@code bytes=<n> intact=<true|false>
     * framing=<how it arrived>}; {@code GET /source?bytes=<n>[&length]} sends n pattern bytes, chunked unless
     * {@code length} asks for a Content-Length. {@link #sourceWritten} counts what the source got written so far:
     * a writer blocks when nobody drains, so it shows how much a stalled reader let through.
     */
    public static final class Backend implements AutoCloseable {
        final HttpServer server;
        private final ExecutorService threads = Executors.newCachedThreadPool();
        public final AtomicLong sourceWritten = new AtomicLong();
        public final AtomicLong sinkRead = new AtomicLong();
        /** Pause between 64 KiB reads of the sink, in ms (a slow consumer); 0 reads at full speed. */
        volatile long sinkPauseMillis;

        /** On loopback, a free port. */
        public Backend() throws IOException {
            this(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        }

        public Backend(InetSocketAddress bind) throws IOException {
            server = HttpServer.create(bind, 0);
            server.createContext("/sink", exchange -> {
                long n = 0;
                boolean intact = true;
                byte[] buf = new byte[64 * 1024];
                try (InputStream in = exchange.getRequestBody()) {
                    for (int r = in.read(buf); r >= 0; r = in.read(buf)) {
                        for (int i = 0; i < r; i++) {
                            intact &= buf[i] == at(n + i);
                        }
                        n += r;
                        sinkRead.set(n);
                        if (sinkPauseMillis > 0) {
                            Thread.sleep(sinkPauseMillis);
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                String framing = exchange.getRequestHeaders().containsKey("Content-length")
                        ? "length" : String.valueOf(exchange.getRequestHeaders().getFirst("Transfer-encoding"));
                byte[] body = ("bytes=" + n + " intact=" + intact + " framing=" + framing + "\n")
                        .getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            });
            server.createContext("/source", exchange -> {
                String query = exchange.getRequestURI().getQuery();
                long total = Long.parseLong(query.replaceAll(".*bytes=(\\d+).*", "$1"));
                exchange.sendResponseHeaders(200, query.contains("length") ? total : 0);
                byte[] block = new byte[64 * 1024];
                try (OutputStream out = exchange.getResponseBody()) {
                    for (long sent = 0; sent < total; ) {
                        int n = (int) Math.min(block.length, total - sent);
                        fill(block, sent, n);
                        out.write(block, 0, n);
                        sent += n;
                        sourceWritten.set(sent);
                    }
                } catch (IOException gone) {
                    // The caller went away.
                }
            });
            server.setExecutor(threads);
            server.start();
        }

        public InetSocketAddress address() {
            return server.getAddress();
        }

        @Override
        public void close() {
            server.stop(0);
            threads.shutdownNow();
        }
    }

    /** A response head and (for small answers) body, from the raw client. */
    public record Response(int status, Map<String, String> headers, String body) {
    }

    /** A raw HTTP/1.1 connection to the egress. */
    public static final class Client implements AutoCloseable {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;
        /** Body bytes of the current upload handed to the socket so far. */
        final AtomicLong uploaded = new AtomicLong();

        public Client(InetSocketAddress to) throws IOException {
            this(new Socket(to.getAddress(), to.getPort()));
        }

        /** Over a connected socket (a TLS one, say). */
        public Client(Socket socket) throws IOException {
            this.socket = socket;
            socket.setSoTimeout(30_000);
            in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
            out = socket.getOutputStream();
        }

        /** Uploads {@code bytes} pattern bytes, with a Content-Length or chunked, and reads the (small) answer. */
        public Response upload(String host, String path, long bytes, boolean chunked, String... headers) throws IOException {
            StringBuilder head = new StringBuilder("POST ").append(path).append(" HTTP/1.1\r\nHost: ").append(host)
                    .append("\r\n").append(chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + bytes + "\r\n");
            for (String h : headers) {
                head.append(h).append("\r\n");
            }
            out.write(head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
            byte[] block = new byte[64 * 1024];
            for (long sent = 0; sent < bytes; ) {
                int n = (int) Math.min(block.length, bytes - sent);
                fill(block, sent, n);
                if (chunked) {
                    out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                }
                out.write(block, 0, n);
                if (chunked) {
                    out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
                }
                sent += n;
                uploaded.set(sent);
            }
            if (chunked) {
                out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            }
            out.flush();
            return readSmall();
        }

        /** Sends a GET; the response head is returned, its body is then read with {@link #readBody}. */
        public Response get(String host, String path, String... headers) throws IOException {
            StringBuilder head = new StringBuilder("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host)
                    .append("\r\n");
            for (String h : headers) {
                head.append(h).append("\r\n");
            }
            out.write(head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            return readHead();
        }

        /**
         * Reads the body of {@code head} (chunked or with a length), checking every byte against the pattern; returns
         * how many bytes arrived, or throws when one differs.
         */
        public long readBody(Response head) throws IOException {
            long n = 0;
            byte[] buf = new byte[64 * 1024];
            if ("chunked".equalsIgnoreCase(head.headers().get("transfer-encoding"))) {
                for (long size = chunkSize(); size > 0; size = chunkSize()) {
                    n = readPattern(buf, n, size);
                    line();
                }
                for (String l = line(); !l.isEmpty(); l = line()) {
                    // trailers
                }
                return n;
            }
            return readPattern(buf, 0, Long.parseLong(head.headers().get("content-length")));
        }

        /** Writes raw bytes (a request head, a body part) as they are. */
        public void send(String raw) throws IOException {
            out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }

        /** Reads a chunked body as text and its trailers (lower-case names). */
        public Response readChunked(Response head) throws IOException {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            for (long size = chunkSize(); size > 0; size = chunkSize()) {
                body.write(in.readNBytes((int) size));
                line();
            }
            Map<String, String> trailers = new LinkedHashMap<>();
            for (String l = line(); !l.isEmpty(); l = line()) {
                int colon = l.indexOf(':');
                trailers.put(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), l.substring(colon + 1).trim());
            }
            return new Response(head.status(), trailers, body.toString(StandardCharsets.UTF_8));
        }

        /** Reads one byte of the body, then nothing more (a stalled reader). */
        int readOne() throws IOException {
            return in.read();
        }

        private long readPattern(byte[] buf, long offset, long size) throws IOException {
            long end = offset + size;
            while (offset < end) {
                int r = in.read(buf, 0, (int) Math.min(buf.length, end - offset));
                if (r < 0) {
                    throw new IOException("the body ended after " + offset + " bytes");
                }
                for (int i = 0; i < r; i++) {
                    if (buf[i] != at(offset + i)) {
                        throw new IOException("byte " + (offset + i) + " differs");
                    }
                }
                offset += r;
            }
            return offset;
        }

        private long chunkSize() throws IOException {
            String l = line();
            int semi = l.indexOf(';');
            return Long.parseLong((semi < 0 ? l : l.substring(0, semi)).trim(), 16);
        }

        public Response readHead() throws IOException {
            String status = line();
            Map<String, String> headers = new LinkedHashMap<>();
            for (String l = line(); !l.isEmpty(); l = line()) {
                int colon = l.indexOf(':');
                headers.put(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), l.substring(colon + 1).trim());
            }
            return new Response(Integer.parseInt(status.split(" ")[1]), headers, "");
        }

        private Response readSmall() throws IOException {
            Response head = readHead();
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            if ("chunked".equalsIgnoreCase(head.headers().get("transfer-encoding"))) {
                for (long size = chunkSize(); size > 0; size = chunkSize()) {
                    body.write(in.readNBytes((int) size));
                    line();
                }
                line();
            } else {
                body.write(in.readNBytes(Integer.parseInt(head.headers().getOrDefault("content-length", "0"))));
            }
            return new Response(head.status(), head.headers(), body.toString(StandardCharsets.UTF_8));
        }

        private String line() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int c = in.read(); c != '\n'; c = in.read()) {
                if (c < 0) {
                    throw new IOException("the connection closed mid-line");
                }
                b.write(c);
            }
            String s = b.toString(StandardCharsets.ISO_8859_1);
            return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
