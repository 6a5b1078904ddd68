package io.isthmus.proxy.http;

import java.util.List;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

/** Hop-by-hop headers (RFC 9110 section 7.6.1) are meaningful on one connection only and are not forwarded. */
public final class HopByHop {
    private static final List<CharSequence> FIXED = List.of(HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE,
            HttpHeaderNames.PROXY_CONNECTION, HttpHeaderNames.PROXY_AUTHORIZATION, HttpHeaderNames.PROXY_AUTHENTICATE,
            HttpHeaderNames.TE, HttpHeaderNames.TRAILER, HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.UPGRADE,
            // RFC 9113 section 3.2.1 (h2c's upgrade): connection-specific, whatever Connection lists
            io.netty.util.AsciiString.cached("http2-settings"));

    private HopByHop() {
    }

    /** Whether {@code name} (any case) is one of the fixed hop-by-hop fields (not those a Connection header names). */
    public static boolean isFixed(CharSequence name) {
        for (CharSequence fixed : FIXED) {
            if (io.netty.util.AsciiString.contentEqualsIgnoreCase(fixed, name)) {
                return true;
            }
        }
        return false;
    }

    public static void strip(HttpHeaders headers) {
        // Most requests name no header in Connection (HTTP/2 has none): getAll allocates a list even for none.
        if (headers.contains(HttpHeaderNames.CONNECTION)) {
            for (String listed : headers.getAll(HttpHeaderNames.CONNECTION)) {
                for (String name : listed.split(",")) {
                    String n = name.trim();
                    if (!n.isEmpty()) {
                        headers.remove(n);
                    }
                }
            }
        }
        for (CharSequence name : FIXED) {
            headers.remove(name);
        }
    }
}
