package io.isthmus.proxy;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;

/**
 * A deliberately dumb HTTP/2 client over a raw socket (TLS with ALPN h2, or h2c prior knowledge), so tests can send
 * header blocks no well-behaved client would: pseudo-headers out of order, twice or unknown, upper-case names,
 * connection-specific headers, any {@code :path}. Header blocks are HPACK literals without indexing or Huffman,
 * written here; the server's answers are decoded by Netty's HPACK decoder. One stream at a time.
 */
final class RawH2 implements AutoCloseable {
    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
    private static final int DATA = 0;
    private static final int HEADERS = 1;
    private static final int RST_STREAM = 3;
    private static final int SETTINGS = 4;
    private static final int PING = 6;
    private static final int GOAWAY = 7;
    private static final int CONTINUATION = 9;
    private static final int END_STREAM = 1;
    private static final int END_HEADERS = 4;

    /**
     * How one stream ended: a response ({@code status} > 0), a stream reset ({@code resetCode} >= 0) or the
     * connection going away ({@code goAwayCode} >= 0, with its debug text).
     */
    record Result(int status, Map<String, String> headers, String body, long resetCode, long goAwayCode,
            String goAwayDebug) {
        String reason() {
            return headers.get("x-isthmus-reason");
        }

        @Override
        public String toString() {
            return status > 0 ? status + " " + headers + " " + body
                    : resetCode >= 0 ? "RST_STREAM " + resetCode : "GOAWAY " + goAwayCode + " " + goAwayDebug;
        }
    }

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private final DefaultHttp2HeadersDecoder hpack = new DefaultHttp2HeadersDecoder(false);
    private int nextStream = 1;
    private boolean goneAway;

    private RawH2(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(10_000);
        this.in = new DataInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
        out.write(PREFACE);
        frame(SETTINGS, 0, 0, new byte[0]);
        out.flush();
    }

    static RawH2 tls(InetSocketAddress to, SSLContext ctx) throws IOException {
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(to.getAddress(), to.getPort());
        SSLParameters p = s.getSSLParameters();
        p.setApplicationProtocols(new String[] {"h2"});
        s.setSSLParameters(p);
        s.startHandshake();
        if (!"h2".equals(s.getApplicationProtocol())) {
            s.close();
            throw new IOException("the server did not select h2 by ALPN");
        }
        return new RawH2(s);
    }

    static RawH2 h2c(InetSocketAddress to) throws IOException {
        return new RawH2(new Socket(to.getAddress(), to.getPort()));
    }

    /** The header fields of a GET to {@code path} at {@code authority}, then {@code extra} ("name: value"). */
    static List<String[]> get(String scheme, String path, String authority, String... extra) {
        List<String[]> fields = new ArrayList<>(List.of(new String[] {":method", "GET"},
                new String[] {":scheme", scheme}, new String[] {":path", path}, new String[] {":authority", authority}));
        fields.addAll(fields(extra));
        return fields;
    }

    /** Sends {@code fields} exactly as given (HEADERS, END_STREAM) on a new stream and reads how it ends. */
    Result send(List<String[]> fields) throws IOException {
        int stream = nextStream;
        nextStream += 2;
        frame(HEADERS, END_STREAM | END_HEADERS, stream, block(fields));
        out.flush();
        return read(stream);
    }

    /**
     * Sends {@code fields} (HEADERS), {@code body} (one DATA frame) and {@code trailers} (HEADERS, END_STREAM) on a
     * new stream and reads how it ends; the answer's trailers are in its {@code headers}.
     */
    Result send(List<String[]> fields, byte[] body, List<String[]> trailers) throws IOException {
        int stream = nextStream;
        nextStream += 2;
        frame(HEADERS, END_HEADERS, stream, block(fields));
        frame(DATA, 0, stream, body);
        frame(HEADERS, END_STREAM | END_HEADERS, stream, block(trailers));
        out.flush();
        return read(stream);
    }

    /** "name: value" strings as header fields. */
    static List<String[]> fields(String... fields) {
        List<String[]> out = new ArrayList<>();
        for (String h : fields) {
            int colon = h.indexOf(':', 1);
            out.add(new String[] {h.substring(0, colon), h.substring(colon + 1).strip()});
        }
        return out;
    }

    /** An HPACK header block of literals, exactly as given. */
    private static byte[] block(List<String[]> fields) {
        return H2Attacker.literals(fields);
    }

    /** Whether the server has not sent GOAWAY and the socket still works. */
    boolean isOpen() {
        return !goneAway && !socket.isClosed();
    }

    private Result read(int stream) throws IOException {
        Map<String, String> headers = new LinkedHashMap<>();
        ByteArrayOutputStream block = null;
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        int status = 0;
        boolean ended = false;
        while (true) {
            int length;
            try {
                length = in.readUnsignedShort() << 8 | in.readUnsignedByte();
            } catch (EOFException e) {
                throw new IOException("the connection closed before stream " + stream + " ended", e);
            }
            int type = in.readUnsignedByte();
            int flags = in.readUnsignedByte();
            int id = in.readInt() & 0x7fffffff;
            byte[] payload = in.readNBytes(length);
            switch (type) {
                case SETTINGS -> {
                    if ((flags & 1) == 0) {
                        frame(SETTINGS, 1, 0, new byte[0]);
                        out.flush();
                    }
                }
                case PING -> {
                    if ((flags & 1) == 0) {
                        frame(PING, 1, 0, payload);
                        out.flush();
                    }
                }
                case GOAWAY -> {
                    goneAway = true;
                    long code = (payload[4] & 0xffL) << 24 | (payload[5] & 0xff) << 16 | (payload[6] & 0xff) << 8
                            | payload[7] & 0xff;
                    return new Result(0, headers, "", -1, code,
                            new String(payload, 8, payload.length - 8, StandardCharsets.UTF_8));
                }
                case RST_STREAM -> {
                    if (id == stream) {
                        long code = (payload[0] & 0xffL) << 24 | (payload[1] & 0xff) << 16 | (payload[2] & 0xff) << 8
                                | payload[3] & 0xff;
                        return new Result(0, headers, "", code, -1, "");
                    }
                }
                case HEADERS, CONTINUATION -> {
                    if (id == stream) {
                        if (type == HEADERS) {
                            block = new ByteArrayOutputStream();
                            ended = (flags & END_STREAM) != 0;
                        }
                        block.write(payload);
                        if ((flags & END_HEADERS) != 0) {
                            try {
                                Http2Headers decoded = hpack.decodeHeaders(stream, Unpooled.wrappedBuffer(block.toByteArray()));
                                decoded.forEach(e -> headers.put(e.getKey().toString(), e.getValue().toString()));
                                if (decoded.status() != null && status == 0) {
                                    status = Integer.parseInt(decoded.status().toString());
                                }
                            } catch (Http2Exception e) {
                                throw new IOException("cannot decode the server's headers", e);
                            }
                            if (ended) {
                                return new Result(status, headers, body.toString(StandardCharsets.UTF_8), -1, -1, "");
                            }
                        }
                    }
                }
                case DATA -> {
                    if (id == stream) {
                        body.write(payload);
                        if ((flags & END_STREAM) != 0) {
                            return new Result(status, headers, body.toString(StandardCharsets.UTF_8), -1, -1, "");
                        }
                    }
                }
                default -> {
                    // WINDOW_UPDATE, PRIORITY: nothing to do for one small request at a time.
                }
            }
        }
    }

    private void frame(int type, int flags, int stream, byte[] payload) throws IOException {
        byte[] head = {(byte) (payload.length >>> 16), (byte) (payload.length >>> 8), (byte) payload.length,
                (byte) type, (byte) flags, (byte) (stream >>> 24), (byte) (stream >>> 16), (byte) (stream >>> 8),
                (byte) stream};
        out.write(head);
        out.write(payload);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
