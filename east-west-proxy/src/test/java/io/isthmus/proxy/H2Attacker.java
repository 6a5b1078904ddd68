package io.isthmus.proxy;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * An HTTP/2 client that attacks: it writes frames as fast as it likes (raw bytes over a socket, TLS with ALPN h2 or
 * h2c prior knowledge) and, unless told not to, reads everything the server sends on a background thread, counting
 * RST_STREAM frames by code, the server's GOAWAY and the end of the connection. Header blocks are HPACK literals
 * (with or without indexing) or indexed fields, written here exactly as asked.
 */
final class H2Attacker implements AutoCloseable {
    static final int DATA = 0;
    static final int HEADERS = 1;
    static final int RST_STREAM = 3;
    static final int SETTINGS = 4;
    static final int PING = 6;
    static final int GOAWAY = 7;
    static final int WINDOW_UPDATE = 8;
    static final int CONTINUATION = 9;
    static final int END_STREAM = 1;
    static final int END_HEADERS = 4;
    static final int ENHANCE_YOUR_CALM = 11;
    static final int REFUSED_STREAM = 7;

    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);

    private final Socket socket;
    private final OutputStream out;
    /** RST_STREAM frames received, by error code (0..15; anything above counts as 15). */
    final AtomicInteger[] resets = new AtomicInteger[16];
    final AtomicInteger responses = new AtomicInteger();
    final AtomicLong goAwayCode = new AtomicLong(-1);
    /** The window the server gave back (WINDOW_UPDATE), by stream id (0: the connection). */
    private final java.util.Map<Integer, AtomicLong> windowGranted = new java.util.concurrent.ConcurrentHashMap<>();
    private final CountDownLatch ended = new CountDownLatch(1);
    private volatile Thread reader;

    private H2Attacker(Socket socket, boolean read) throws IOException {
        this.socket = socket;
        for (int i = 0; i < resets.length; i++) {
            resets[i] = new AtomicInteger();
        }
        this.out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
        out.write(PREFACE);
        frame(SETTINGS, 0, 0, new byte[0]);
        out.flush();
        if (read) {
            reader = Thread.ofVirtual().start(this::readAll);
        }
    }

    /** Over TLS (ALPN h2) with {@code ctx}'s client certificate; {@code read} false: never reads a byte. */
    static H2Attacker tls(InetSocketAddress to, SSLContext ctx, boolean read, int receiveBuffer) throws IOException {
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket();
        if (receiveBuffer > 0) {
            s.setReceiveBufferSize(receiveBuffer);
        }
        s.connect(to);
        SSLParameters p = s.getSSLParameters();
        p.setApplicationProtocols(new String[] {"h2"});
        s.setSSLParameters(p);
        s.startHandshake();
        if (!"h2".equals(s.getApplicationProtocol())) {
            s.close();
            throw new IOException("the server did not select h2 by ALPN");
        }
        return new H2Attacker(s, read);
    }

    /** h2c with prior knowledge; {@code read} false: never reads a byte. */
    static H2Attacker h2c(InetSocketAddress to, boolean read, int receiveBuffer) throws IOException {
        Socket s = new Socket();
        if (receiveBuffer > 0) {
            s.setReceiveBufferSize(receiveBuffer);
        }
        s.connect(to);
        return new H2Attacker(s, read);
    }

    private void readAll() {
        try {
            DataInputStream in = new DataInputStream(socket.getInputStream());
            while (true) {
                int length = in.readUnsignedShort() << 8 | in.readUnsignedByte();
                int type = in.readUnsignedByte();
                int flags = in.readUnsignedByte();
                int id = in.readInt() & 0x7fffffff;
                byte[] payload = in.readNBytes(length);
                if (payload.length < length) {
                    return;
                }
                switch (type) {
                    case RST_STREAM -> resets[(int) Math.min(15, unsigned(payload, 0))].incrementAndGet();
                    case GOAWAY -> goAwayCode.compareAndSet(-1, unsigned(payload, 4));
                    case WINDOW_UPDATE -> windowGranted.computeIfAbsent(id, k -> new AtomicLong())
                            .addAndGet(unsigned(payload, 0) & 0x7fffffff);
                    case HEADERS -> {
                        if ((flags & END_HEADERS) != 0) {
                            responses.incrementAndGet();
                        }
                    }
                    default -> {
                        // SETTINGS, PING, DATA: only counted by what they end
                    }
                }
            }
        } catch (IOException e) {
            // the end of the connection (EOF, reset, or our own close)
        } finally {
            ended.countDown();
        }
    }

    private static long unsigned(byte[] b, int at) {
        return (b[at] & 0xffL) << 24 | (b[at + 1] & 0xff) << 16 | (b[at + 2] & 0xff) << 8 | b[at + 3] & 0xff;
    }

    /** Whether the server ended the connection (EOF or reset) within {@code millis}; needs a reading attacker. */
    boolean endedWithin(long millis) throws InterruptedException {
        return ended.await(millis, TimeUnit.MILLISECONDS);
    }

    /**
     * For an attacker that never read: reads and discards what the server sent until the connection ends; whether it
     * ended (EOF or reset) within {@code millis}.
     */
    boolean drainsToTheEndWithin(long millis) throws IOException {
        long deadline = System.nanoTime() + millis * 1_000_000;
        byte[] sink = new byte[64 * 1024];
        try {
            while (System.nanoTime() < deadline) {
                socket.setSoTimeout((int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
                if (socket.getInputStream().read(sink) < 0) {
                    return true;
                }
            }
            return false;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset by the server
        }
    }

    /** The window the server gave back on {@code stream} so far (beyond the initial window). */
    long windowGranted(int stream) {
        AtomicLong n = windowGranted.get(stream);
        return n == null ? 0 : n.get();
    }

    int resets(int code) {
        return resets[code].get();
    }

    void frame(int type, int flags, int stream, byte[] payload) throws IOException {
        out.write(new byte[] {(byte) (payload.length >>> 16), (byte) (payload.length >>> 8), (byte) payload.length,
                (byte) type, (byte) flags, (byte) (stream >>> 24), (byte) (stream >>> 16), (byte) (stream >>> 8),
                (byte) stream});
        out.write(payload);
    }

    void flush() throws IOException {
        out.flush();
    }

    static byte[] int32(long value) {
        return new byte[] {(byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value};
    }

    /** An HPACK block of literals without indexing, as given ({@code name}, {@code value} pairs). */
    static byte[] literals(List<String[]> fields) {
        ByteArrayOutputStream block = new ByteArrayOutputStream();
        for (String[] f : fields) {
            literal(block, 0x00, f[0], f[1]);
        }
        return block.toByteArray();
    }

    /** One literal field: {@code 0x00} without indexing, {@code 0x40} with incremental indexing (new name). */
    static void literal(ByteArrayOutputStream block, int kind, String name, String value) {
        byte[] n = name.getBytes(StandardCharsets.ISO_8859_1);
        byte[] v = value.getBytes(StandardCharsets.ISO_8859_1);
        block.write(kind);
        integer(block, n.length);
        block.writeBytes(n);
        integer(block, v.length);
        block.writeBytes(v);
    }

    /** HPACK integer with a 7-bit prefix, H bit clear (RFC 7541 section 5.1). */
    private static void integer(ByteArrayOutputStream b, int value) {
        if (value < 127) {
            b.write(value);
            return;
        }
        b.write(127);
        value -= 127;
        while (value >= 128) {
            b.write(value % 128 + 128);
            value /= 128;
        }
        b.write(value);
    }

    @Override
    public void close() throws IOException {
        socket.close();
        Thread r = reader;
        if (r != null) {
            try {
                r.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
