package io.isthmus.proxy.http;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

/**
 * The headers that carry identity across the gateway hop. The egress removes whatever the caller sent under
 * these names and asserts the authenticated caller; the ingress accepts the assertion only from a peer gateway of
 * the same trust domain, removes it, and tells the backend in {@code x-forwarded-client-cert} (Envoy's format:
 * {@code By=<ingress gateway ID>;URI=<caller ID>}).
 */
public final class IdentityHeaders {
    /** The caller's SPIFFE ID, as asserted by the source gateway. */
    public static final AsciiString CALLER = AsciiString.cached("x-isthmus-caller");
    /** What the backend reads: the verified caller, Envoy style. */
    public static final AsciiString XFCC = AsciiString.cached("x-forwarded-client-cert");
    /** The denial or refusal code, also in the JSON body. */
    public static final AsciiString REASON = AsciiString.cached("x-isthmus-reason");

    private IdentityHeaders() {
    }

    /**
     * Whether {@code name} is an identity header as a backend may read it: in any case, and with {@code _} for
     * {@code -}. CGI, WSGI, Rack and PHP turn both {@code x_forwarded_client_cert} and {@code x-forwarded-client-cert}
     * into {@code HTTP_X_FORWARDED_CLIENT_CERT}, so a caller's underscore spelling could stand beside, or replace, the
     * one the ingress sets (the class of Puma's CVE-2024-45614).
     */
    public static boolean isIdentity(CharSequence name) {
        return sameName(name, CALLER) || sameName(name, XFCC);
    }

    private static boolean sameName(CharSequence name, AsciiString identity) {
        if (name.length() != identity.length()) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            char lower = c == '_' ? '-' : c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c;
            if (lower != identity.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** Removes every header a caller could use to claim an identity, underscore spellings included. */
    public static void strip(HttpHeaders headers) {
        List<CharSequence> found = null;
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence(); it.hasNext(); ) {
            CharSequence name = it.next().getKey();
            if (isIdentity(name)) {
                if (found == null) {
                    found = new ArrayList<>(2);
                }
                found.add(name);
            }
        }
        if (found != null) {
            found.forEach(headers::remove);
        }
    }
}
