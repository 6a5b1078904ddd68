package io.isthmus.proxy.http;

import java.util.Locale;
import java.util.StringJoiner;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * The protocols of an HTTP/1.1 {@code Upgrade} request that a gateway asks the next hop for. HTTP versions are
 * negotiated on each hop and never passed on: {@code h2c} (and {@code h2}, {@code HTTP/<version>}) leave the list,
 * wherever they stand in it. A backend that took an h2c upgrade passed through would serve HTTP/2 streams inside the
 * tunnel the gateway splices after the 101, for any path, none of them authorized; only the exact value {@code h2c}
 * was left out before, so {@code Upgrade: websocket, h2c} went through. Pure.
 */
public final class UpgradeOffer {
    private UpgradeOffer() {
    }

    /**
     * The {@code Upgrade} value to send on: the request's protocols in order, without HTTP versions; null when the
     * request is no upgrade ({@code Connection} does not list {@code upgrade}) or asks for nothing else.
     */
    public static String passedOn(HttpHeaders headers) {
        if (!headers.contains(HttpHeaderNames.UPGRADE)
                || !headers.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)) {
            return null;
        }
        StringJoiner kept = new StringJoiner(", ");
        for (String value : headers.getAll(HttpHeaderNames.UPGRADE)) {
            for (String token : value.split(",")) {
                String protocol = token.trim();
                if (!protocol.isEmpty() && !isHttp(protocol)) {
                    kept.add(protocol);
                }
            }
        }
        return kept.length() == 0 ? null : kept.toString();
    }

    /** {@code h2c}, {@code h2}, {@code HTTP/2.0} and any other HTTP version, in any case. */
    static boolean isHttp(String protocol) {
        int slash = protocol.indexOf('/');
        String name = (slash < 0 ? protocol : protocol.substring(0, slash)).trim().toLowerCase(Locale.ROOT);
        return name.equals("h2c") || name.equals("h2") || name.equals("http");
    }
}
