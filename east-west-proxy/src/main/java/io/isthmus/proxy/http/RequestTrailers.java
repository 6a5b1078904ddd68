package io.isthmus.proxy.http;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import io.netty.handler.codec.http.HttpHeaders;

/**
 * Which trailer fields of a request go on to the next hop. Trailers come after the body, where no check of the
 * request head looks, and a backend or framework that reads them as header fields would take a forged
 * {@code x-forwarded-client-cert} for the caller the ingress verified. So a request's trailers lose what the gateway
 * removes or sets in the head, and what RFC 9110 section 6.5.1 says cannot be a trailer because it must be known
 * before the content: the identity fields ({@link IdentityHeaders#isIdentity}, underscore spellings too), hop-by-hop fields, framing ({@code
 * Content-Length}, {@code Transfer-Encoding}), routing ({@code Host}) and credentials ({@code Authorization}, which the
 * egress takes from its callers). Every other trailer (a checksum, gRPC metadata) passes unchanged. Removed
 * silently, as the same fields in the head are. Pure.
 */
public final class RequestTrailers {
    /** Besides the identity and hop-by-hop fields ({@link HopByHop#isFixed}): framing, routing, credentials. */
    private static final Set<String> NEVER = Set.of("content-length", "host", "authorization");

    private RequestTrailers() {
    }

    /** Whether a request trailer field named {@code name} (any case) goes on to the next hop. */
    public static boolean forwarded(CharSequence name) {
        return !IdentityHeaders.isIdentity(name) && !HopByHop.isFixed(name)
                && !NEVER.contains(name.toString().toLowerCase(Locale.ROOT));
    }

    /** Removes from a request's {@code trailers} every field that is not {@link #forwarded}. */
    public static void strip(HttpHeaders trailers) {
        if (trailers.isEmpty()) {
            return;
        }
        List<String> refused = new ArrayList<>(2);
        for (String name : trailers.names()) {
            if (!forwarded(name)) {
                refused.add(name);
            }
        }
        refused.forEach(trailers::remove);
    }
}
