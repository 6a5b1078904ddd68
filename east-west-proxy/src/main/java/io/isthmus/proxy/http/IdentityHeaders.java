package io.isthmus.proxy.http;

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

    /** Removes every header a caller could use to claim an identity. */
    public static void strip(HttpHeaders headers) {
        headers.remove(CALLER);
        headers.remove(XFCC);
    }
}
