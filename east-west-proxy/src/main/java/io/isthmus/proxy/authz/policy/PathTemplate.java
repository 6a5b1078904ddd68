package io.isthmus.proxy.authz.policy;

/**
 * Istio's path templates for {@code paths}/{@code notPaths}: {@code {*}} matches exactly one non-empty segment and
 * {@code {**}}, only as the last segment, one or more (the rest of the path, which must not be empty). Every other
 * segment is matched literally and case-sensitively; the template starts with {@code /} and has no other
 * {@code *}. {@code /orders/{*}/items} matches {@code /orders/42/items}, not {@code /orders/42/7/items} nor
 * {@code /orders//items}; a plain {@code /orders/*} stays a prefix match and would match both.
 *
 * <p>A template counts segments, so it must count them as the backend will. The ingress normalizes every path
 * before policy (dot segments removed, encoded and back slashes refused or decoded), except with path normalization
 * {@code none}; a path that still holds something a backend could read as other segments is {@link #ambiguous}, and
 * {@link PolicySet} then treats a template as it treats a field the request lacks: an ALLOW rule's template does not
 * match it, a DENY rule's does. Otherwise {@code /orders/{*}} would allow {@code /orders/..} (served as {@code /})
 * and {@code /orders/a%2Fb} (served as {@code /orders/a/b} by a backend that decodes it).
 *
 * <p>Pure and allocation-free; thread-safe.
 */
public final class PathTemplate {
    public static final String ONE = "{*}";
    public static final String REST = "{**}";

    private PathTemplate() {
    }

    /** Whether {@code pattern} is meant as a template (it has a brace), to be validated by {@link #error}. */
    public static boolean isTemplate(String pattern) {
        return pattern.indexOf('{') >= 0 || pattern.indexOf('}') >= 0;
    }

    /** Why {@code template} is not a valid path template, or null when it is. */
    public static String error(String template) {
        if (!template.startsWith("/")) {
            return "a path template must start with '/' (e.g. \"/orders/{*}/items\")";
        }
        int start = 1;
        while (true) {
            int end = template.indexOf('/', start);
            boolean last = end < 0;
            String segment = template.substring(start, last ? template.length() : end);
            if (segment.equals(REST)) {
                if (!last) {
                    return "'{**}' must be the last segment (\"/static/{**}\"); use '{*}' for one segment";
                }
            } else if (!segment.equals(ONE) && (segment.indexOf('{') >= 0 || segment.indexOf('}') >= 0
                    || segment.indexOf('*') >= 0)) {
                return "segment \"" + segment + "\": '{*}' and '{**}' must be whole segments and '*' may appear "
                        + "only inside them (\"/orders/{*}/items\")";
            }
            if (last) {
                return null;
            }
            start = end + 1;
        }
    }

    /** Whether {@code path} (without query) matches the valid {@code template}. */
    public static boolean matches(String template, String path) {
        if (!path.startsWith("/")) {
            return false;
        }
        int t = 1;
        int p = 1;
        while (true) {
            int tEnd = template.indexOf('/', t);
            if (tEnd < 0) {
                tEnd = template.length();
            }
            int tLen = tEnd - t;
            if (tLen == REST.length() && template.startsWith(REST, t)) {
                return p < path.length();
            }
            int pEnd = path.indexOf('/', p);
            if (pEnd < 0) {
                pEnd = path.length();
            }
            if (tLen == ONE.length() && template.startsWith(ONE, t)) {
                if (pEnd == p) {
                    return false;
                }
            } else if (tLen != pEnd - p || !template.regionMatches(t, path, p, tLen)) {
                return false;
            }
            boolean templateEnds = tEnd == template.length();
            boolean pathEnds = pEnd == path.length();
            if (templateEnds || pathEnds) {
                return templateEnds && pathEnds;
            }
            t = tEnd + 1;
            p = pEnd + 1;
        }
    }

    /**
     * Whether a backend could split {@code path} into other segments than {@link #matches} does: it has a dot
     * segment ({@code .} or {@code ..}, also percent-encoded, also followed by {@code ;params} as Tomcat reads
     * {@code ..;}), an encoded slash or backslash ({@code %2F}, {@code %5C}, any case) or a backslash. Never true
     * for a path the ingress normalized.
     */
    public static boolean ambiguous(String path) {
        int dots = 0;
        boolean onlyDots = true;
        for (int i = 0; i <= path.length(); i++) {
            char c = i < path.length() ? path.charAt(i) : '/';
            if (c == '/' || c == ';') {
                if (onlyDots && (dots == 1 || dots == 2)) {
                    return true;
                }
                if (c == ';') {
                    // the rest of the segment is a parameter: skip to the next segment
                    int next = path.indexOf('/', i);
                    i = (next < 0 ? path.length() : next) - 1;
                    onlyDots = false;
                    continue;
                }
                dots = 0;
                onlyDots = true;
            } else if (c == '\\') {
                return true;
            } else if (c == '.') {
                dots++;
            } else if (c == '%' && i + 2 < path.length()) {
                char hi = path.charAt(i + 1);
                char lo = Character.toUpperCase(path.charAt(i + 2));
                if ((hi == '2' && lo == 'F') || (hi == '5' && lo == 'C')) {
                    return true;
                }
                if (hi == '2' && lo == 'E') {
                    dots++;
                    i += 2;
                } else {
                    onlyDots = false;
                }
            } else {
                onlyDots = false;
            }
        }
        return false;
    }
}
