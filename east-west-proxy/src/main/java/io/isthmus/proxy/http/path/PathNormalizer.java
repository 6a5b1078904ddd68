package io.isthmus.proxy.http.path;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import io.isthmus.proxy.http.Ascii;

/**
 * Normalizes the request target of every request at the ingress before policy sees it, so that policy matches the
 * path the backend will serve, and the normalized target is what gets forwarded (CVE-2019-9901 in Envoy and
 * CVE-2021-31920 in Istio were this bug: policy matched {@code /admin}, the backend also served {@code /./admin}).
 *
 * <p>With every {@link PathNormalization mode} but {@code NONE}, following RFC 3986 section 6: percent-encoded
 * unreserved characters are decoded ({@code %61dmin} is {@code admin}, {@code %2e} is a dot), other escapes keep
 * their byte with upper-case hex ({@code %2f} is refused, {@code %3b} becomes {@code %3B}), dot segments are removed
 * (section 5.2.4; {@code ..} never climbs above the root), and with {@code MERGE_SLASHES} repeated slashes become one
 * first (as nginx and Go do, so {@code /a//../b} is {@code /b}). The query is checked but forwarded unchanged;
 * policy never matches it. Normalizing twice gives the same result as normalizing once.
 *
 * <p>Immutable, pure and thread-safe. A target that needs no change is returned as is, without copying.
 */
public final class PathNormalizer {
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();
    private static final int UNRESERVED = 1;
    /** May appear unencoded in a path: unreserved, sub-delims, ':' and '@' (RFC 3986 pchar), and '/'. */
    private static final int PATH = 2;
    /** May appear unencoded in a query as received: visible ASCII but '#'. Lenient: policy never matches it. */
    private static final int QUERY = 4;
    private static final byte[] CLASS = new byte[128];

    static {
        for (int c = 0x21; c < 0x7f; c++) {
            CLASS[c] |= QUERY;
        }
        CLASS['#'] &= ~QUERY;
        for (char c : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".toCharArray()) {
            CLASS[c] |= UNRESERVED | PATH;
        }
        for (char c : "!$&'()*+,;=:@/%".toCharArray()) {
            CLASS[c] |= PATH;
        }
    }

    private final PathNormalization mode;

    public PathNormalizer(PathNormalization mode) {
        this.mode = Objects.requireNonNull(mode, "mode");
    }

    public PathNormalization mode() {
        return mode;
    }

    /**
     * @param target an origin-form request target as received ({@code /a/b?q}), or an HTTP/2 {@code :path}
     */
    public PathVerdict normalize(String target) {
        Objects.requireNonNull(target, "target");
        int q = target.indexOf('?');
        int end = q < 0 ? target.length() : q;
        if (mode == PathNormalization.NONE) {
            return new PathVerdict.Normalized(q < 0 ? target : target.substring(0, q), target);
        }
        if (target.equals("*")) {
            return new PathVerdict.Normalized(target, target);
        }
        if (target.isEmpty() || target.charAt(0) != '/') {
            return refuse(PathRefusal.NOT_ORIGIN_FORM, target, "expected a path starting with '/' (origin form)");
        }
        for (int i = q + 1; q >= 0 && i < target.length(); i++) {
            char c = target.charAt(i);
            if (c == '#') {
                return refuse(PathRefusal.FRAGMENT, target, "a request target carries no fragment; drop it");
            }
            if (c >= 128 || (CLASS[c] & QUERY) == 0) {
                return refuse(PathRefusal.INVALID_CHARACTER, target, "the query holds " + Ascii.describe(c)
                        + ", which must be percent-encoded");
            }
        }
        boolean rewrite = false;
        for (int i = 0; i < end; i++) {
            char c = target.charAt(i);
            switch (c) {
                case '%' -> rewrite = true;
                case '\\' -> {
                    if (mode != PathNormalization.DECODE_AND_MERGE_SLASHES) {
                        return refuse(PathRefusal.BACKSLASH, target, "a backslash is a separator to some backends"
                                + " and a character to others; send '/' instead");
                    }
                    rewrite = true;
                }
                case ';' -> {
                    return refuse(PathRefusal.PATH_PARAMETERS, target, "';' starts path parameters, which Tomcat"
                            + " and Spring drop from a segment ('/public/..;/admin' is '/admin' there) and nginx"
                            + " keeps; percent-encode it as %3B if it is data");
                }
                case '#' -> {
                    return refuse(PathRefusal.FRAGMENT, target, "a request target carries no fragment; drop it");
                }
                case '/' -> {
                    if (i + 1 < end && (target.charAt(i + 1) == '.' || target.charAt(i + 1) == '/')) {
                        rewrite = true;
                    }
                }
                default -> {
                    if (c >= 128 || (CLASS[c] & PATH) == 0) {
                        return refuse(PathRefusal.INVALID_CHARACTER, target, "the path holds " + Ascii.describe(c)
                                + ", which must be percent-encoded");
                    }
                }
            }
        }
        if (!rewrite) {
            return new PathVerdict.Normalized(q < 0 ? target : target.substring(0, q), target);
        }
        StringBuilder decoded = new StringBuilder(end);
        for (int i = 0; i < end; i++) {
            char c = target.charAt(i);
            if (c == '\\') {
                decoded.append('/');
            } else if (c != '%') {
                decoded.append(c);
            } else {
                int hi = i + 2 < end ? hex(target.charAt(i + 1)) : -1;
                int lo = i + 2 < end ? hex(target.charAt(i + 2)) : -1;
                if (hi < 0 || lo < 0) {
                    return refuse(PathRefusal.INVALID_PERCENT_ENCODING, target, "'"
                            + target.substring(i, Math.min(end, i + 3)) + "' at offset " + i
                            + " is not '%' and two hex digits; encode '%' itself as %25");
                }
                int v = hi << 4 | lo;
                if (v < 128 && (CLASS[v] & UNRESERVED) != 0) {
                    decoded.append((char) v);
                } else if (v == '/' || v == '\\') {
                    if (mode != PathNormalization.DECODE_AND_MERGE_SLASHES) {
                        return refuse(v == '/' ? PathRefusal.ENCODED_SLASH : PathRefusal.ENCODED_BACKSLASH, target,
                                "'" + target.substring(i, i + 3) + "' is a separator to some backends and a"
                                        + " character to others; this gateway's path normalization is "
                                        + mode.configName());
                    }
                    decoded.append('/');
                } else {
                    decoded.append('%').append(HEX[v >> 4]).append(HEX[v & 15]);
                }
                i += 2;
            }
        }
        String path = mode == PathNormalization.BASE ? decoded.toString() : mergeSlashes(decoded);
        path = removeDotSegments(path);
        return new PathVerdict.Normalized(path, q < 0 ? path : path + target.substring(q));
    }

    private static String mergeSlashes(CharSequence s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '/' || b.isEmpty() || b.charAt(b.length() - 1) != '/') {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** RFC 3986 section 5.2.4 for an absolute path: "." is dropped, ".." drops the segment before it. */
    static String removeDotSegments(String path) {
        List<String> out = new ArrayList<>();
        String[] segments = path.substring(1).split("/", -1);
        boolean trailingSlash = false;
        for (int i = 0; i < segments.length; i++) {
            String s = segments[i];
            boolean last = i == segments.length - 1;
            if (s.equals(".") || s.equals("..")) {
                if (s.equals("..") && !out.isEmpty()) {
                    out.remove(out.size() - 1);
                }
                trailingSlash = last;
            } else {
                out.add(s);
            }
        }
        String joined = "/" + String.join("/", out);
        return trailingSlash && !out.isEmpty() ? joined + "/" : joined;
    }

    private static int hex(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    private static PathVerdict refuse(PathRefusal reason, String target, String why) {
        return new PathVerdict.Refused(reason, "request target '" + Ascii.printable(target) + "' refused: " + why);
    }
}
