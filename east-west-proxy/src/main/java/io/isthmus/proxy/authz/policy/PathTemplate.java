package io.isthmus.proxy.authz.policy;

/**
 * Istio's path templates for {@code paths}/{@code notPaths}: {@code {*}} matches exactly one non-empty segment and
 * {@code {**}}, only as the last segment, one or more (the rest of the path, which must not be empty). Every other
 * segment is matched literally and case-sensitively; the template starts with {@code /} and has no other
 * {@code *}. {@code /orders/{*}/items} matches {@code /orders/42/items}, not {@code /orders/42/7/items} nor
 * {@code /orders//items}; a plain {@code /orders/*} stays a prefix match and would match both.
 *
 * <p>Pure and allocation-free when matching; thread-safe.
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
}
