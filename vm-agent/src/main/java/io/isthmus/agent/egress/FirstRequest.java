package io.isthmus.agent.egress;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import io.netty.buffer.ByteBuf;

/**
 * The head of the first request on an app's connection to the local egress: all the agent reads of it to choose a
 * route. Everything after it, and every later request on a connection that goes via the gateway, is relayed as bytes;
 * the gateway's egress parses and validates them (strictly, as for any caller). Pure.
 *
 * @param method the method, as sent ({@code GET}, {@code CONNECT})
 * @param target the request target (origin form {@code /x}, absolute form {@code http://host/x}, or
 *     {@code host:port} for CONNECT)
 * @param host the service the request names: the CONNECT target, the absolute target's authority, else the Host
 *     header; null when it names none
 * @param headers the header lines in order, as {@code name: value}
 * @param headLength bytes of the head, its closing empty line included
 */
public record FirstRequest(String method, String target, String host, List<String> headers, int headLength) {
    /** Longest head the agent waits for (the gateway's own limit on a request head is of this order). */
    public static final int MAX_HEAD = 64 * 1024;
    private static final Set<String> NOT_FOR_THE_WORKLOAD = Set.of("host", "connection", "proxy-connection",
            "keep-alive", "proxy-authorization");

    public FirstRequest {
        headers = List.copyOf(headers);
    }

    /** The head is not HTTP/1.x the agent can route; {@code getMessage()} says why, quoting it. */
    public static final class Malformed extends Exception {
        public Malformed(String message) {
            super(message);
        }
    }

    public boolean connect() {
        return method.equals("CONNECT");
    }

    /**
     * The head of {@code buf} (not consumed), or null while its end has not arrived yet.
     *
     * @throws Malformed when it is longer than {@link #MAX_HEAD} or its request line is not {@code method target HTTP/1.x}
     */
    public static FirstRequest parse(ByteBuf buf) throws Malformed {
        int end = endOfHead(buf);
        if (end < 0) {
            if (buf.readableBytes() > MAX_HEAD) {
                throw new Malformed("the request head is longer than " + MAX_HEAD + " bytes");
            }
            return null;
        }
        int length = end - buf.readerIndex() + 4;
        if (length > MAX_HEAD) {
            throw new Malformed("the request head is longer than " + MAX_HEAD + " bytes");
        }
        String head = buf.toString(buf.readerIndex(), length - 4, StandardCharsets.ISO_8859_1);
        String[] lines = head.split("\r\n", -1);
        String[] line = lines[0].split(" ", -1);
        if (line.length != 3 || line[0].isEmpty() || line[1].isEmpty() || !line[2].matches("HTTP/1\\.[01]")) {
            throw new Malformed("'" + printable(lines[0]) + "' is not an HTTP/1.1 request line (method target"
                    + " HTTP/1.1); send plain HTTP, or CONNECT host:port");
        }
        List<String> headers = new ArrayList<>();
        String hostHeader = null;
        for (int i = 1; i < lines.length; i++) {
            headers.add(lines[i]);
            int colon = lines[i].indexOf(':');
            if (hostHeader == null && colon > 0 && lines[i].substring(0, colon).trim().equalsIgnoreCase("host")) {
                hostHeader = lines[i].substring(colon + 1).trim();
            }
        }
        String target = line[1];
        String host;
        if (line[0].equals("CONNECT")) {
            host = target;
        } else if (target.regionMatches(true, 0, "http://", 0, 7)) {
            int slash = target.indexOf('/', 7);
            host = slash < 0 ? target.substring(7) : target.substring(7, slash);
        } else {
            host = hostHeader;
        }
        return new FirstRequest(line[0], target, host == null || host.isBlank() ? null : host, headers, length);
    }

    /**
     * This head as the workload itself should get it on a connection of its own: origin-form target, the Host it
     * names, no proxy or connection headers, and {@code Connection: close} (one request per end-to-end connection:
     * a later request on the app's connection may name another service, which this TLS session cannot reach).
     */
    public byte[] forWorkload() {
        StringBuilder b = new StringBuilder();
        String path = target;
        if (target.regionMatches(true, 0, "http://", 0, 7)) {
            int slash = target.indexOf('/', 7);
            path = slash < 0 ? "/" : target.substring(slash);
        }
        b.append(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: ").append(host).append("\r\n");
        for (String h : headers) {
            int colon = h.indexOf(':');
            String name = colon < 0 ? h : h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            if (!NOT_FOR_THE_WORKLOAD.contains(name)) {
                b.append(h).append("\r\n");
            }
        }
        b.append("Connection: close\r\n\r\n");
        return b.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /** The absolute index of the CRLF CRLF that ends the head, or -1. */
    private static int endOfHead(ByteBuf buf) {
        int last = buf.writerIndex() - 4;
        for (int i = buf.readerIndex(); i <= last; i++) {
            if (buf.getByte(i) == '\r' && buf.getByte(i + 1) == '\n' && buf.getByte(i + 2) == '\r'
                    && buf.getByte(i + 3) == '\n') {
                return i;
            }
        }
        return -1;
    }

    private static String printable(String s) {
        String cut = s.length() > 200 ? s.substring(0, 200) + "..." : s;
        return cut.replaceAll("[^\\x20-\\x7e]", "?");
    }
}
