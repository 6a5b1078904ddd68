package io.isthmus.proxy.http.validate;

import java.util.Locale;
import java.util.Map;

import io.isthmus.proxy.http.Ascii;

/**
 * Refuses requests whose meaning two HTTP readers could disagree about, before either listener acts on them:
 * body framing (request smuggling), folded or control-character headers, and where the request goes (Host). Netty's
 * decoder accepts some of these (it resolves {@code Content-Length} plus {@code Transfer-Encoding} by itself, unfolds
 * obs-fold, takes any {@code Host}); a gateway forwarding them lets the next reader see another request.
 *
 * <p>Pure and thread-safe; one pass over the headers. The first rule broken is the verdict.
 */
public final class RequestValidator {
    private static final boolean[] TOKEN = new boolean[128];
    private static final boolean[] HOST = new boolean[128];

    static {
        for (char c : "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".toCharArray()) {
            TOKEN[c] = true;
        }
        for (char c : "-._~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".toCharArray()) {
            HOST[c] = true;
        }
    }

    private RequestValidator() {
    }

    public static RequestVerdict check(RequestHead head) {
        if (head.obsFolded()) {
            return invalid(RequestRefusal.OBS_FOLD, "a header line continues on the next line (obs-fold); send each"
                    + " header on one line");
        }
        if (!head.http2() && !head.version().equals("HTTP/1.1") && !head.version().equals("HTTP/1.0")) {
            return invalid(RequestRefusal.UNSUPPORTED_HTTP_VERSION, "version '" + Ascii.printable(head.version())
                    + "' on an HTTP/1 connection; send HTTP/1.1 (HTTP/2 is negotiated by ALPN or prior knowledge)");
        }
        if (head.http2()) {
            RequestVerdict bad = checkPseudoHeaders(head);
            if (bad != null) {
                return bad;
            }
        }
        String method = head.method();
        for (int i = 0; i < method.length(); i++) {
            char c = method.charAt(i);
            if (c >= 'a' && c <= 'z') {
                return invalid(RequestRefusal.LOWER_CASE_METHOD, "method '" + Ascii.printable(method) + "' has lower-case"
                        + " letters: methods are case-sensitive, every standard method is upper case, and policy names"
                        + " only upper-case methods; send '" + method.toUpperCase(java.util.Locale.ROOT) + "'");
            }
        }
        String target = head.target();
        for (int i = 0; i < target.length(); i++) {
            char c = target.charAt(i);
            if (c <= 0x20 || c >= 0x7f) {
                return invalid(RequestRefusal.INVALID_REQUEST_TARGET, "request target '" + Ascii.printable(target)
                        + "' holds " + Ascii.describe(c) + " at offset " + i + "; percent-encode it");
            }
        }
        String host = null;
        int hosts = 0;
        String contentLength = null;
        String transferEncoding = null;
        for (Map.Entry<String, String> h : head.headers()) {
            String name = h.getKey();
            String value = h.getValue();
            RequestVerdict bad = checkName(name);
            if (bad != null) {
                return bad;
            }
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if (c < 0x20 && c != '\t' || c == 0x7f) {
                    return invalid(RequestRefusal.CONTROL_CHARACTER_IN_HEADER, "header '" + name + "' holds "
                            + Ascii.describe(c) + " at offset " + i + " of its value");
                }
            }
            if (name.equalsIgnoreCase("host")) {
                hosts++;
                if (hosts > 1 && !value.equals(host)) {
                    return invalid(RequestRefusal.MULTIPLE_HOST, "Host '" + Ascii.printable(host) + "' and '"
                            + Ascii.printable(value) + "': send exactly one");
                }
                if (hosts > 1 && !head.http2()) {
                    return invalid(RequestRefusal.MULTIPLE_HOST, hosts + " Host headers; send exactly one");
                }
                host = value;
            } else if (name.equalsIgnoreCase("content-length")) {
                if (contentLength != null || value.indexOf(',') >= 0) {
                    return invalid(RequestRefusal.MULTIPLE_CONTENT_LENGTH, "more than one Content-Length ('"
                            + Ascii.printable(contentLength == null ? value : contentLength + "', '" + value)
                            + "'); send exactly one");
                }
                if (value.isEmpty() || value.length() > 18 || !value.chars().allMatch(Character::isDigit)) {
                    return invalid(RequestRefusal.INVALID_CONTENT_LENGTH, "Content-Length '" + Ascii.printable(value)
                            + "' is not a decimal number of bytes");
                }
                contentLength = value;
            } else if (name.equalsIgnoreCase("transfer-encoding")) {
                if (transferEncoding != null || !value.trim().equalsIgnoreCase("chunked")) {
                    String all = transferEncoding == null ? value : transferEncoding + ", " + value;
                    return invalid(RequestRefusal.TRANSFER_ENCODING_NOT_CHUNKED, "Transfer-Encoding '"
                            + Ascii.printable(all) + "': only a single 'chunked' is accepted (its last coding must be"
                            + " chunked, and no other coding is supported)");
                }
                transferEncoding = value;
            }
        }
        if (contentLength != null && transferEncoding != null) {
            return invalid(RequestRefusal.CONTENT_LENGTH_WITH_TRANSFER_ENCODING, "Content-Length " + contentLength
                    + " and Transfer-Encoding '" + Ascii.printable(transferEncoding) + "' both frame the body; send one");
        }
        boolean connect = head.method().equals("CONNECT");
        boolean absolute = !connect && !target.startsWith("/") && !target.equals("*");
        if (host == null) {
            if (head.version().equals("HTTP/1.1") || head.http2()) {
                return invalid(RequestRefusal.MISSING_HOST, head.http2() ? "no :authority and no host; name the"
                        + " service" : "an HTTP/1.1 request needs a Host header");
            }
        } else {
            RequestVerdict bad = checkHost(host, "Host");
            if (bad != null) {
                return bad;
            }
        }
        if (absolute || connect) {
            String authority = connect ? target : authorityOf(target);
            if (authority == null) {
                return invalid(RequestRefusal.INVALID_REQUEST_TARGET, "request target '" + Ascii.printable(target)
                        + "' is neither a path nor an http:// URI");
            }
            RequestVerdict bad = checkHost(authority, "the request target's authority");
            if (bad != null) {
                return bad;
            }
            if (host != null && !sameAuthority(authority, host)) {
                return invalid(RequestRefusal.HOST_MISMATCH, "the request target names '" + Ascii.printable(authority)
                        + "' but Host is '" + Ascii.printable(host) + "'; they must name the same host");
            }
        }
        return RequestVerdict.VALID;
    }

    /** RFC 9113 section 8.3.1; Netty's codec already refused unknown, repeated and misplaced pseudo-headers. */
    private static RequestVerdict checkPseudoHeaders(RequestHead head) {
        if (head.method().isEmpty()) {
            return invalid(RequestRefusal.MISSING_PSEUDO_HEADER, "the request has no :method");
        }
        if (head.method().equals("CONNECT")) {
            return null;
        }
        if (head.scheme().isEmpty() || head.target().isEmpty()) {
            return invalid(RequestRefusal.MISSING_PSEUDO_HEADER, "a " + head.method() + " request needs "
                    + (head.scheme().isEmpty() ? ":scheme" : ":path"));
        }
        if (!head.scheme().equals("http") && !head.scheme().equals("https")) {
            return invalid(RequestRefusal.INVALID_SCHEME, ":scheme '" + Ascii.printable(head.scheme())
                    + "' is neither http nor https");
        }
        return null;
    }

    private static RequestVerdict checkName(String name) {
        if (name.isEmpty()) {
            return invalid(RequestRefusal.INVALID_HEADER_NAME, "a header has an empty name");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c >= 128 || !TOKEN[c]) {
                boolean trailingSpace = (c == ' ' || c == '\t') && name.substring(i).isBlank();
                return invalid(trailingSpace ? RequestRefusal.WHITESPACE_BEFORE_COLON
                        : RequestRefusal.INVALID_HEADER_NAME, "header name '" + Ascii.printable(name) + "' holds "
                                + Ascii.describe(c) + (trailingSpace ? " before its colon" : "; names are RFC 9110 tokens"));
            }
        }
        return null;
    }

    /** {@code host[:port]}: a reg-name or IPv4 address of unreserved characters, or a bracketed IPv6 literal. */
    private static RequestVerdict checkHost(String value, String what) {
        if (value.indexOf('@') >= 0) {
            return invalid(RequestRefusal.USERINFO_IN_HOST, what + " '" + Ascii.printable(value) + "' carries userinfo"
                    + " ('user@'); HTTP never sends it, name the host alone");
        }
        String host = value;
        int colon = value.lastIndexOf(':');
        if (colon >= 0 && value.indexOf(']') < colon) {
            String port = value.substring(colon + 1);
            if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(Character::isDigit)
                    || Integer.parseInt(port) > 65535) {
                return invalid(RequestRefusal.INVALID_HOST, what + " '" + Ascii.printable(value) + "' has no valid port");
            }
            host = value.substring(0, colon);
        }
        boolean ok = !host.isEmpty();
        if (ok && host.charAt(0) == '[') {
            ok = host.endsWith("]") && host.length() > 2 && host.substring(1, host.length() - 1).chars()
                    .allMatch(c -> c == ':' || c == '.' || Character.digit(c, 16) >= 0);
        } else {
            for (int i = 0; i < host.length() && ok; i++) {
                char c = host.charAt(i);
                ok = c < 128 && HOST[c];
            }
        }
        return ok ? null : invalid(RequestRefusal.INVALID_HOST, what + " '" + Ascii.printable(value)
                + "' is not host[:port]");
    }

    /** The authority of an absolute-form target {@code scheme://authority/...}, or null when it is not one. */
    private static String authorityOf(String target) {
        int scheme = target.indexOf("://");
        if (scheme <= 0) {
            return null;
        }
        int end = scheme + 3;
        while (end < target.length() && "/?#".indexOf(target.charAt(end)) < 0) {
            end++;
        }
        return target.substring(scheme + 3, end);
    }

    /** Case-insensitive, port 80 implied when absent (only http:// targets are routed). */
    private static boolean sameAuthority(String a, String b) {
        return withPort(a).equals(withPort(b));
    }

    private static String withPort(String authority) {
        String lower = authority.toLowerCase(Locale.ROOT);
        int colon = lower.lastIndexOf(':');
        return colon >= 0 && lower.indexOf(']') < colon ? lower : lower + ":80";
    }

    private static RequestVerdict invalid(RequestRefusal reason, String detail) {
        return new RequestVerdict.Invalid(reason, detail);
    }
}
